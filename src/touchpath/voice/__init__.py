"""Voice of the customer: surveys (NPS, CSAT, CES) at touchpoints, their answers as journey
events, the metrics per stage and touchpoint, themes and sentiment of free text, and the closed
loop (follow-up cases for unhappy answers).

An answer is the track event ``Survey Answered`` of the person who gave it; its properties carry
``survey_id``, ``survey`` (the type of the scored question: ``nps``, ``csat``, ``ces`` or
``rating``), ``score``, ``scale_min``/``scale_max``, ``comment`` (free text), ``language``,
``touchpoint``, ``stage``, ``response_id`` and ``answers`` (every question's answer by id).
"""
