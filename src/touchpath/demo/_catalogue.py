"""Olive & Oak: what the example business sells, where, and how people find it.

Fixed tables only (no randomness that depends on the seed): products, pages, stores, devices,
locales, names, traffic sources and the behavioural parameters the journeys are drawn from.
"""

from __future__ import annotations

from dataclasses import dataclass

SITE = "https://www.oliveandoak.co.il"
CURRENCY = "ILS"

# ---------------------------------------------------------------- acquisition and behaviour
ACQUISITION = (
    "paid_search", "organic_search", "paid_social", "organic_social", "email", "referral",
    "affiliate", "display", "direct",
)
PAID_SEARCH, ORGANIC_SEARCH, PAID_SOCIAL, ORGANIC_SOCIAL, EMAIL, REFERRAL, AFFILIATE, DISPLAY, \
    DIRECT = range(len(ACQUISITION))
ACQUISITION_SHARE = (0.20, 0.17, 0.16, 0.07, 0.08, 0.07, 0.05, 0.06, 0.14)

# probability that a visitor's journey reaches "Checkout Step Completed" step 2 (planted
# behaviour 1: e-mail 0.25 vs paid social 0.13, about 2x; the payment step then applies equally)
REACH_CHECKOUT = (0.19, 0.17, 0.13, 0.10, 0.25, 0.22, 0.16, 0.07, 0.20)
COUPON_LIFT = 1.5  # planted behaviour 4a: a coupon multiplies reaching checkout
COUPON_SHARE = 0.15  # share of visitors offered a coupon outside the spring sale
COUPON_SHARE_IN_SALE = 0.35  # ... and during it
# planted behaviour 2: share that goes on from step 2 to "Payment Info Entered"
PAYMENT_PASS = 0.80
PAYMENT_PASS_BUG = 0.40  # Safari and the iOS app
# planted behaviour 4b: probability of coming back to buy again after a first order
REPEAT_INTENT = 0.30
REPEAT_INTENT_REFERRAL = 0.62
STORE_ONLY_SHARE = 0.18
ALSO_IN_STORE_SHARE = 0.12
SECOND_DEVICE_SHARE = 0.30
NEWSLETTER_SIGNUP = 0.18  # non-buyers who leave an e-mail for the newsletter
SALE_START_DAY, SALE_DAYS = 78, 22  # "spring sale" (Passover 2026 for the default window)

# returning visits: direct, organic search, brand paid search, organic social, paid social
# retargeting, e-mail (e-mail only once the person is known)
RETURN_TRAFFIC = (DIRECT, ORGANIC_SEARCH, PAID_SEARCH, ORGANIC_SOCIAL, PAID_SOCIAL, EMAIL)
RETURN_SHARE = (0.40, 0.20, 0.12, 0.05, 0.08, 0.15)


@dataclass(frozen=True)
class Variant:
    """One way a visit arrives: its tags, referrer, landing page and click id."""

    channel: int
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    referrer: str | None = None
    landing: str = "home"  # home | category | product | sale | blog | new
    click_id: str | None = None  # gclid | fbclid | ref (a friend's referral code)
    weight: float = 1.0


VARIANTS = (
    Variant(PAID_SEARCH, "google", "cpc", "brand-search", landing="home", click_id="gclid",
            weight=3),
    Variant(PAID_SEARCH, "google", "cpc", "generic-furniture", landing="category",
            click_id="gclid", weight=4),
    Variant(PAID_SEARCH, "google", "cpc", "shopping-kitchen", landing="product",
            click_id="gclid", weight=4),
    Variant(PAID_SEARCH, "bing", "cpc", "generic-furniture", landing="category", weight=1),
    Variant(ORGANIC_SEARCH, referrer="https://www.google.com/", landing="category", weight=5),
    Variant(ORGANIC_SEARCH, referrer="https://www.google.co.il/", landing="product", weight=4),
    Variant(ORGANIC_SEARCH, referrer="https://www.bing.com/", landing="home", weight=1),
    Variant(ORGANIC_SEARCH, referrer="https://duckduckgo.com/", landing="blog", weight=0.5),
    Variant(PAID_SOCIAL, "facebook", "paid_social", "spring-collection", landing="product",
            click_id="fbclid", weight=4),
    Variant(PAID_SOCIAL, "instagram", "paid_social", "reels-olive-wood", landing="product",
            click_id="fbclid", weight=4),
    Variant(PAID_SOCIAL, "facebook", "cpc", "retargeting-cart", landing="product",
            click_id="fbclid", weight=1),
    Variant(ORGANIC_SOCIAL, referrer="https://l.facebook.com/", landing="product", weight=3),
    Variant(ORGANIC_SOCIAL, referrer="https://www.instagram.com/", landing="home", weight=3),
    Variant(ORGANIC_SOCIAL, referrer="https://www.pinterest.com/", landing="product", weight=1),
    Variant(ORGANIC_SOCIAL, "instagram", "social", "bio-link", landing="new", weight=1),
    Variant(EMAIL, "newsletter", "email", None, landing="sale", weight=1),  # campaign by date
    Variant(REFERRAL, "friend", "referral", "refer-a-friend", landing="home", click_id="ref",
            weight=7),
    Variant(REFERRAL, referrer="https://www.homestyle.co.il/blog/olive-wood-kitchen",
            landing="product", weight=2),
    Variant(REFERRAL, referrer="https://www.mako.co.il/home-design", landing="category",
            weight=1),
    Variant(AFFILIATE, "cashback-il", "affiliate", "partner-cashback", landing="sale", weight=2),
    Variant(AFFILIATE, "deals-blog", "affiliate", "partner-deals", landing="product", weight=1),
    Variant(DISPLAY, "google", "display", "gdn-prospecting", landing="home", weight=2),
    Variant(DISPLAY, "taboola", "display", "native-home-ideas", landing="blog", weight=2),
    Variant(DISPLAY, "outbrain", "display", "native-home-ideas", landing="blog", weight=1),
    Variant(DIRECT, landing="home"),
)
EMAIL_VARIANT = next(i for i, v in enumerate(VARIANTS) if v.channel == EMAIL)
FRIEND_VARIANT = next(i for i, v in enumerate(VARIANTS) if v.click_id == "ref")
COUPONS = ("WELCOME10", "PESACH15")  # (code, percent off) by index
COUPON_PERCENT = (10, 15)
COUPON_CAMPAIGNS = ("welcome-10", "pesach-sale-15")

# ---------------------------------------------------------------- products and pages
CATEGORIES = (
    ("living-room", "Living room"), ("kitchen", "Kitchen"), ("dining", "Dining"),
    ("bedding", "Bedding"), ("bath", "Bath"), ("lighting", "Lighting"), ("decor", "Decor"),
    ("outdoor", "Outdoor"),
)
_ITEMS = (
    (0, "Linen three-seat sofa", 4990), (0, "Rattan armchair", 1290), (0, "Oak coffee table", 1490),
    (0, "Wool floor cushion", 249), (0, "Oak bookcase", 1890), (0, "Jute pouf", 329),
    (1, "Olive wood cutting board", 149), (1, "Olive wood salad bowl", 189),
    (1, "Chef's knife", 349), (1, "Cast iron pan", 279), (1, "Espresso cups, set of 4", 119),
    (1, "Ceramic mixing bowls", 159), (2, "Stoneware dinner plates, set of 4", 229),
    (2, "Linen tablecloth", 199), (2, "Oak dining chair", 790), (2, "Glass water carafe", 89),
    (2, "Olive wood serving spoons", 79), (3, "Linen duvet cover", 449),
    (3, "Cotton sheet set", 299), (3, "Down pillow", 189), (3, "Wool throw", 259),
    (3, "Quilted bedspread", 389), (4, "Turkish cotton towel", 79), (4, "Bath mat", 99),
    (4, "Waffle bathrobe", 229), (4, "Ceramic soap dispenser", 59),
    (5, "Rattan pendant lamp", 459), (5, "Brass table lamp", 389), (5, "Linen floor lamp", 649),
    (5, "Candle holder", 69), (6, "Ceramic vase", 139), (6, "Round wall mirror", 399),
    (6, "Jute rug 160x230", 899), (6, "Scented candle", 89), (6, "Oak picture frame", 69),
    (7, "Teak garden chair", 990), (7, "Terracotta planter", 119), (7, "Outdoor lantern", 179),
    (7, "Cotton hammock", 349),
)
_COLOURS = (("Natural", "NAT"), ("Sand", "SND"), ("Charcoal", "CHR"), ("Olive", "OLV"),
            ("Terracotta", "TER"))


@dataclass(frozen=True)
class Product:
    product_id: str
    sku: str
    name: str
    category: int
    price: int  # agorot


def _products() -> tuple[Product, ...]:
    out = []
    for i, (category, name, shekels) in enumerate(_ITEMS):
        for k in range(3):
            colour, code = _COLOURS[(i + k) % len(_COLOURS)]
            number = 1001 + 3 * i + k
            price = shekels * 100 + (0 if k == 0 else (k * 2000 if shekels > 500 else k * 1000))
            out.append(Product(f"OO-{number}", f"OO-{number}-{code}", f"{name}, {colour.lower()}",
                               category, price - 10))  # prices end in .90
    return tuple(out)


PRODUCTS = _products()
PRODUCT_WEIGHTS = tuple(1.0 / (1 + (7 * i) % len(PRODUCTS)) ** 0.8 for i in range(len(PRODUCTS)))


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    title: str


_FIXED_PAGES = (
    Page("Home", "/", "Olive & Oak | Home goods made to last"),
    *(Page("Category", f"/c/{slug}", f"{label} | Olive & Oak") for slug, label in CATEGORIES),
    Page("Sale", "/sale", "Spring sale | Olive & Oak"),
    Page("New Arrivals", "/new", "New arrivals | Olive & Oak"),
    Page("Blog", "/blog/caring-for-olive-wood", "Caring for olive wood | Olive & Oak"),
    Page("Stores", "/stores", "Our stores | Olive & Oak"),
    Page("About", "/about", "About us | Olive & Oak"),
)
HOME, CATEGORY0, SALE_PAGE, NEW_PAGE, BLOG_PAGE, STORES_PAGE, ABOUT_PAGE = (
    0, 1, 1 + len(CATEGORIES), 2 + len(CATEGORIES), 3 + len(CATEGORIES), 4 + len(CATEGORIES),
    5 + len(CATEGORIES))
PRODUCT0 = len(_FIXED_PAGES)
PAGES = _FIXED_PAGES + tuple(
    Page("Product", "/p/" + p.product_id.lower(), f"{p.name} | Olive & Oak") for p in PRODUCTS
)
CART_PATH, CHECKOUT_PATH = "/cart", "/checkout"

# ---------------------------------------------------------------- people
LOCALES = ("he-IL", "ar-IL", "en-US")
LANGUAGES = ("he", "ar", "en")
LOCALE_SHARE = (0.62, 0.20, 0.18)
FIRST_NAMES = (
    (("noa", "נועה"), ("yael", "יעל"), ("tamar", "תמר"), ("maya", "מאיה"), ("shira", "שירה"),
     ("avi", "אבי"), ("yossi", "יוסי"), ("david", "דוד"), ("itai", "איתי"), ("omer", "עומר"),
     ("michal", "מיכל"), ("roni", "רוני"), ("eitan", "איתן"), ("dana", "דנה")),
    (("ahmad", "أحمد"), ("mohammad", "محمد"), ("lina", "لينا"), ("rania", "رانيا"),
     ("samir", "سمير"), ("nour", "نور"), ("yousef", "يوسف"), ("hiba", "هبة"), ("omar", "عمر"),
     ("fatma", "فاطمة"), ("rami", "رامي"), ("salma", "سلمى")),
    (("emma", "Emma"), ("james", "James"), ("olivia", "Olivia"), ("daniel", "Daniel"),
     ("sophie", "Sophie"), ("michael", "Michael"), ("hannah", "Hannah"), ("ben", "Ben"),
     ("rachel", "Rachel"), ("adam", "Adam")),
)
LAST_NAMES = (
    (("cohen", "כהן"), ("levi", "לוי"), ("mizrahi", "מזרחי"), ("peretz", "פרץ"),
     ("biton", "ביטון"), ("friedman", "פרידמן"), ("katz", "כץ"), ("shapira", "שפירא"),
     ("avraham", "אברהם"), ("dahan", "דהן"), ("golan", "גולן"), ("ben-david", "בן דוד")),
    (("khalil", "خليل"), ("haddad", "حداد"), ("nasser", "ناصر"), ("mansour", "منصور"),
     ("saleh", "صالح"), ("awad", "عوض"), ("jaber", "جابر"), ("hamdan", "حمدان"),
     ("zoabi", "زعبي"), ("khoury", "خوري")),
    (("smith", "Smith"), ("brown", "Brown"), ("miller", "Miller"), ("green", "Green"),
     ("parker", "Parker"), ("stein", "Stein"), ("gold", "Gold"), ("taylor", "Taylor")),
)
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")  # reserved: never real mailboxes
PHONE_PREFIXES = ("050", "052", "053", "054", "058")


@dataclass(frozen=True)
class Device:
    kind: str
    source: str
    app: bool
    bug: bool  # Safari engine or the iOS app: planted behaviour 2
    context: str  # the context JSON's device part, without braces
    share: float  # as a first device


_IPHONE_SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 "
                  "(KHTML, like Gecko) Version/18.2 Mobile/15E148 Safari/604.1")
_MAC_SAFARI = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
               "(KHTML, like Gecko) Version/18.2 Safari/605.1.15")
_CHROME_WIN = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
               "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
_CHROME_ANDROID = ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 "
                   "(KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36")


def _ua(agent: str) -> str:
    return f'"userAgent":"{agent}"'


DEVICES = (
    Device("desktop_chrome", "web", False, False, _ua(_CHROME_WIN), 0.28),
    Device("desktop_safari", "web", False, True, _ua(_MAC_SAFARI), 0.09),
    Device("desktop_edge", "web", False, False, _ua(_CHROME_WIN + " Edg/131.0.0.0"), 0.05),
    Device("desktop_firefox", "web", False, False, _ua(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"),
        0.04),
    Device("mobile_safari", "web", False, True, _ua(_IPHONE_SAFARI), 0.26),
    Device("mobile_chrome", "web", False, False, _ua(_CHROME_ANDROID), 0.24),
    Device("mobile_samsung", "web", False, False, _ua(
        "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36"), 0.04),
    Device("app_ios", "ios", True, True,
           '"app":{"name":"Olive & Oak","version":"4.2.0","build":"420"},'
           '"device":{"type":"ios","manufacturer":"Apple","model":"iPhone15,2"},'
           '"os":{"name":"iOS","version":"18.2"}', 0.0),
    Device("app_android", "android", True, False,
           '"app":{"name":"Olive & Oak","version":"4.2.0","build":"420"},'
           '"device":{"type":"android","manufacturer":"Samsung","model":"SM-S921B"},'
           '"os":{"name":"Android","version":"14"}', 0.0),
    Device("store_kiosk", "web", False, False, _ua(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36"), 0.0),
)
APP_IOS, APP_ANDROID, KIOSK = 7, 8, 9
SECOND_DEVICE_KINDS = (APP_IOS, APP_ANDROID, 0)
SECOND_DEVICE_SHARE_BY_KIND = (0.35, 0.35, 0.30)

# ---------------------------------------------------------------- stores and help desk
@dataclass(frozen=True)
class Store:
    code: str
    name: str
    share_by_locale: tuple[float, float, float]


STORES = (
    Store("TLV", "Olive & Oak דיזנגוף סנטר, תל אביב", (0.55, 0.20, 0.60)),
    Store("HFA", "Olive & Oak גרנד קניון, חיפה", (0.20, 0.65, 0.15)),
    Store("JLM", "Olive & Oak קניון מלחה, ירושלים", (0.25, 0.15, 0.25)),
)
PAYMENT_METHODS_STORE = ("כרטיס אשראי", "מזומן", "ביט", "Apple Pay")
PAYMENT_METHODS_STORE_SHARE = (0.62, 0.12, 0.16, 0.10)
PAYMENT_METHODS_WEB = ("credit_card", "paypal", "bit", "apple_pay", "google_pay")
RETURN_REASONS = ("פגם במוצר", "לא מתאים לבית", "החלפה בצבע אחר", "שינוי דעה")

TICKET_TOPICS = ("delivery_delay", "damaged_item", "return_request", "order_change",
                 "product_question", "payment_failed")
TICKET_RESOLUTIONS = {
    "delivery_delay": ("delivery_rescheduled", "compensation_coupon", "unresolved"),
    "damaged_item": ("replacement_sent", "refund_issued"),
    "return_request": ("refund_issued", "exchange_arranged", "declined"),
    "order_change": ("order_updated", "unresolved"),
    "product_question": ("answered",),
    "payment_failed": ("workaround_given", "order_placed_by_phone", "unresolved"),
}
TICKET_VIA = ("email", "phone", "chat", "whatsapp")
