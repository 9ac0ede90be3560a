"""What Olive & Oak's customers write: survey comments, searches and e-mail subjects.

Each bank holds the same ideas in the three languages of the demo (index 0 Hebrew, 1 Arabic,
2 English, the order of ``LOCALES``), so a comment always matches its writer's locale. The
Hebrew and Arabic use the everyday words of the glossary (משלוח, שירות לקוחות, החזר כספי;
التوصيل, خدمة العملاء, استرداد).
"""

from __future__ import annotations

# comment themes; a survey answer's score chooses the sentiment, its touchpoint the theme
POSITIVE, NEUTRAL, NEGATIVE, DELIVERY, SUPPORT, DAMAGED, PAYMENT = range(7)

COMMENTS: tuple[tuple[tuple[str, ...], ...], ...] = (
    (  # POSITIVE
        ("איכות מעולה, קרש עץ הזית יפה עוד יותר במציאות.",
         "משלוח מהיר והכול הגיע ארוז היטב.",
         "הצוות בחנות היה מקסים ועזר לי לבחור.",
         "מחירים מצוינים במבצע, בטוח אזמין שוב.",
         "קל להזמין באתר ויש מבחר גדול.",
         "מצעי הפשתן פשוט מושלמים, איכות גבוהה."),
        ("جودة ممتازة، لوح خشب الزيتون أجمل في الواقع.",
         "توصيل سريع ووصل كل شيء مغلفًا بشكل جيد.",
         "الموظفون في المتجر كانوا لطيفين وساعدوني في الاختيار.",
         "أسعار رائعة خلال التخفيضات، سأطلب مرة أخرى بالتأكيد.",
         "الطلب من الموقع سهل والتشكيلة كبيرة.",
         "أغطية الكتان رائعة وجودتها عالية."),
        ("Beautiful quality, the olive wood board is even nicer in person.",
         "Fast delivery and everything arrived well packed.",
         "The staff in the store were lovely and helped me choose.",
         "Great prices in the sale, I will definitely order again.",
         "Easy to order on the site and a great selection.",
         "The linen bedding is just perfect, excellent quality."),
    ),
    (  # NEUTRAL
        ("היה בסדר, המשלוח לקח קצת יותר זמן מהצפוי.",
         "מוצרים יפים אבל קצת יקר.",
         "בסך הכול בסדר, שום דבר מיוחד."),
        ("كان الأمر مقبولًا، التوصيل استغرق وقتًا أطول قليلًا من المتوقع.",
         "منتجات جميلة لكن الأسعار مرتفعة قليلًا.",
         "جيد بشكل عام، لا شيء مميز."),
        ("It was okay, delivery took a bit longer than expected.",
         "Nice products but a little pricey.",
         "Fine overall, nothing special."),
    ),
    (  # NEGATIVE (general)
        ("מאוכזבת, האיכות לא מצדיקה את המחיר.",
         "המוצר לא נראה כמו בתמונות.",
         "חוויה לא נעימה, לא בטוח שאחזור."),
        ("خاب أملي، الجودة لا تتناسب مع السعر.",
         "المنتج لا يشبه الصور.",
         "تجربة غير مريحة، لست متأكدًا أنني سأعود."),
        ("Disappointed, the quality does not justify the price.",
         "The product does not look like the photos.",
         "Not a pleasant experience, not sure I will come back."),
    ),
    (  # DELIVERY
        ("ההזמנה הגיעה באיחור של שבוע ואף אחד לא עדכן אותי.",
         "המשלוח נדחה פעמיים בלי הסבר."),
        ("وصل طلبي متأخرًا أسبوعًا ولم يبلغني أحد.",
         "تم تأجيل التوصيل مرتين دون توضيح."),
        ("My order arrived a week late and nobody updated me.",
         "The delivery was postponed twice without explanation."),
    ),
    (  # SUPPORT
        ("חיכיתי ימים לתשובה משירות הלקוחות.",
         "נאלצתי להתקשר שלוש פעמים כדי לקבל החזר כספי.",
         "הנציג היה אדיב אבל לא פתר את הבעיה."),
        ("انتظرت أيامًا للحصول على رد من خدمة العملاء.",
         "اضطررت للاتصال ثلاث مرات لاسترداد أموالي.",
         "الموظف كان مهذبًا لكنه لم يحل المشكلة."),
        ("I waited days for an answer from customer service.",
         "I had to call three times to get my refund.",
         "The agent was polite but did not solve the problem."),
    ),
    (  # DAMAGED
        ("האגרטל הגיע שבור.",
         "המוצר הגיע פגום וההחלפה לקחה שבועות."),
        ("وصلت المزهرية مكسورة.",
         "وصل المنتج تالفًا واستغرق الاستبدال أسابيع."),
        ("The vase arrived broken.",
         "The item arrived damaged and the replacement took weeks."),
    ),
    (  # PAYMENT (the checkout bug, in the customers' words)
        ("דף התשלום נתקע כל הזמן באייפון שלי.",
         "הקופה נתקעה בשלב התשלום ובסוף ויתרתי."),
        ("صفحة الدفع كانت تتعطل باستمرار على الآيفون.",
         "توقفت عملية الشراء عند خطوة الدفع فاستسلمت."),
        ("The payment page kept failing on my iPhone.",
         "Checkout froze at the payment step and I gave up."),
    ),
)

SEARCHES: tuple[tuple[str, ...], ...] = (
    ("קרש חיתוך עץ זית", "מצעי פשתן", "מנורה תלויה", "ספה", "מגבות", "כוסות אספרסו",
     "שטיח יוטה", "עציץ טרקוטה", "מראה עגולה", "כיסא לגינה"),
    ("لوح تقطيع خشب زيتون", "أغطية سرير كتان", "مصباح معلق", "كنبة", "مناشف",
     "فناجين إسبريسو", "سجادة جوت", "أصيص فخار", "مرآة دائرية", "كرسي حديقة"),
    ("olive wood board", "linen duvet", "pendant lamp", "sofa", "towels", "espresso cups",
     "jute rug", "terracotta planter", "round mirror", "garden chair"),
)

EMAIL_SUBJECTS: tuple[tuple[str, ...], ...] = (
    ("חדש: קולקציית עץ הזית", "מבצע אביב – 15% הנחה עם PESACH15", "הבית שלך, בהתחדשות",
     "הבחירות השבועיות של Olive & Oak"),
    ("جديد: تشكيلة خشب الزيتون", "تخفيضات الربيع – خصم 15% مع PESACH15", "بيتك بحلّة جديدة",
     "اختيارات الأسبوع من Olive & Oak"),
    ("New in: the olive wood collection", "Spring sale – 15% off with PESACH15",
     "Your home, refreshed", "This week's picks from Olive & Oak"),
)

TICKET_SUBJECTS: tuple[tuple[str, ...], ...] = (  # by TICKET_TOPICS order
    ("ההזמנה שלי מתעכבת", "מוצר הגיע פגום", "בקשה להחזרת מוצר", "שינוי בהזמנה",
     "שאלה על מוצר", "התשלום באתר נכשל"),
    ("طلبي متأخر", "وصل المنتج تالفًا", "طلب إرجاع منتج", "تعديل الطلب", "سؤال عن منتج",
     "فشل الدفع في الموقع"),
    ("My order is late", "Item arrived damaged", "Return request", "Change to my order",
     "Question about a product", "Payment failed on the website"),
)
