"""The fixed reference data of the demo: what a small telecom/retail business in Brazil and the
United States would configure before its first customer (classes, catalogue, plans, templates).

Kept apart from the generator so the volumes can grow without touching the business vocabulary.
"""

from __future__ import annotations

from decimal import Decimal

UNITS = [
    # (code, name, parent code)
    ("HQ", "Head office", None),
    ("SAO", "São Paulo sales", "HQ"),
    ("NYC", "New York sales", "HQ"),
    ("FLD", "Field services", "HQ"),
]

CLASSIFICATIONS = ["Retail", "Wholesale", "E-commerce", "Partner", "Public sector"]

CUSTOMER_CLASSES = [
    # (code, name, rank)
    ("BRONZE", "Bronze", 1),
    ("SILVER", "Silver", 2),
    ("GOLD", "Gold", 3),
    ("PLATINUM", "Platinum", 4),
]

TRANSITION_RULES = [
    # (name, from, to, trigger, amount, months, active)
    ("Bronze to Silver", "BRONZE", "SILVER", "purchases_at_least", Decimal(1000), 12, True),
    ("Silver to Gold", "SILVER", "GOLD", "purchases_at_least", Decimal(5000), 12, True),
    ("Gold to Platinum", "GOLD", "PLATINUM", "purchases_at_least", Decimal(20000), 12, True),
    ("Silver back to Bronze", "SILVER", "BRONZE", "no_purchase_for", None, 6, True),
    ("Gold back to Silver", "GOLD", "SILVER", "no_purchase_for", None, 12, True),
    # An inactive rule, so the class transition process shows it is skipped.
    ("Platinum review (paused)", "PLATINUM", "GOLD", "no_purchase_for", None, 18, False),
]

AUDIENCES = [
    # (name, description, criteria)
    ("Active customers", "Every active account.", {"status": "active"}),
    (
        "São Paulo active",
        "Active accounts in the state of São Paulo.",
        {"status": "active", "state_province": "SP"},
    ),
    (
        "Gold and Platinum",
        "The best customers, for the premium campaigns.",
        {"customer_class__code__in": ["GOLD", "PLATINUM"]},
    ),
    (
        "US companies",
        "Company accounts in the United States.",
        {"kind": "company", "country": "US"},
    ),
    (
        "Big spenders",
        "Accumulated purchases of 10,000 or more.",
        {"accumulated_purchase_amount__gte": 10000},
    ),
]

PRODUCT_FAMILIES = [
    ("NET", "Internet"),
    ("TV", "Television"),
    ("VOICE", "Telephony"),
    ("HW", "Devices"),
    ("SVC", "Services"),
]

PRODUCTS = [
    # (code, name, family, is_service, is_traceable, unit price)
    ("FIB-300", "Fibra 300 Mb", "NET", True, False, Decimal("99.90")),
    ("FIB-600", "Fibra 600 Mb", "NET", True, False, Decimal("129.90")),
    ("FIB-1G", "Fiber 1 Gb", "NET", True, False, Decimal("199.00")),
    ("BIZ-NET", "Business internet 500 Mb", "NET", True, False, Decimal("349.00")),
    ("TV-BASIC", "TV basic package", "TV", True, False, Decimal("49.90")),
    ("TV-FULL", "TV full package", "TV", True, False, Decimal("119.90")),
    ("TV-SPORT", "Sports add-on", "TV", True, False, Decimal("39.90")),
    ("VOICE-UNL", "Unlimited calls", "VOICE", True, False, Decimal("29.90")),
    ("VOICE-INT", "International minutes", "VOICE", True, False, Decimal("0.35")),
    ("RTR-AX3", "Wi-Fi 6 router AX3000", "HW", False, True, Decimal("459.00")),
    ("ONT-GPON", "GPON optical terminal", "HW", False, True, Decimal("289.00")),
    ("STB-4K", "Set-top box 4K", "HW", False, True, Decimal("399.00")),
    ("MESH-2", "Mesh Wi-Fi kit (2 units)", "HW", False, True, Decimal("899.00")),
    ("CABLE-10", "Network cable 10 m", "HW", False, False, Decimal("24.90")),
    ("INST", "Installation visit", "SVC", True, False, Decimal("150.00")),
    ("TECH-VISIT", "Technical visit", "SVC", True, False, Decimal("120.00")),
    ("PARC-INSP", "PARC preventive inspection", "SVC", True, False, Decimal("250.00")),
    ("SUPPORT-P", "Premium support", "SVC", True, False, Decimal("59.90")),
]

WAREHOUSES = [
    ("WH-SP", "São Paulo distribution centre", "Rod. Anhanguera, km 25, São Paulo - SP"),
    ("WH-RE", "Recife depot", "Av. Recife, 4500, Recife - PE"),
    ("WH-NJ", "Newark warehouse", "120 Doremus Ave, Newark, NJ"),
]

REWARD_SCHEMES = [
    # (code, name, closed loop)
    ("REWARDS", "Nightshift Rewards", False),
    ("CLUBE", "Clube Fidelidade", False),
    ("VIP", "VIP Invitation Club", True),
]

SUBSCRIPTION_TYPES = [
    ("RES-NET", "Residential internet"),
    ("RES-TV", "Residential TV"),
    ("BUS-NET", "Business internet"),
    ("COMBO", "Internet + TV combo"),
]

PRICE_PLANS = [
    ("PP-NET-300", "Internet 300", Decimal("99.90")),
    ("PP-NET-600", "Internet 600", Decimal("129.90")),
    ("PP-NET-1G", "Internet 1 Gb", Decimal("199.00")),
    ("PP-TV", "TV full", Decimal("119.90")),
    ("PP-COMBO", "Combo internet + TV", Decimal("209.90")),
    ("PP-BIZ", "Business 500", Decimal("349.00")),
]

BILLING_TERM_SCHEMES = [("PREPAID", "Prepaid"), ("POSTPAID", "Postpaid")]

BINDING_PERIODS = [("BIND-12", "12 months", 12), ("BIND-24", "24 months", 24)]

# One standard action type per behaviour, as the system ships them.
STANDARD_ACTION_TYPES = [
    ("ACTIVATE", "Activate", "activate"),
    ("DEACTIVATE", "Deactivate", "deactivate"),
    ("ST-DEACTIVATE", "Short term deactivate", "short_term_deactivate"),
    ("END-ST-DEACTIVATE", "End short term deactivation", "end_short_term_deactivation"),
    ("CANCEL", "Cancel", "cancel"),
]
# A custom deactivate type: the short term process requires its input settings to name one.
CUSTOM_DEACTIVATE = ("DEACT-NONPAY", "Deactivation for non-payment", "deactivate")
SUB_ACTION_TYPES = [
    ("UNSETTLED", "Unsettled balance after short term deactivation"),
    ("CUSTOMER-REQ", "Customer request"),
]

PROVISIONING_ACTIONS = [
    "activate_service",
    "suspend_service",
    "resume_service",
    "change_plan",
    "reset_device",
    "firmware_update",
]

PAYMENT_METHODS = ["pix", "boleto", "credit_card", "ach", "wire"]
GATEWAYS = ["cielo", "stripe", "pagseguro"]

DISCOUNTS = [
    ("LOYALTY-5", "Loyalty discount 5%", Decimal("0.05")),
    ("COMBO-10", "Combo discount 10%", Decimal("0.10")),
    ("PROMO-FIRST", "First months promotion", Decimal("0.20")),
]

EMAIL_TEMPLATES = [
    # (code, name, language, subject, text body)
    (
        "birthday",
        "Birthday greeting",
        "en",
        "Happy birthday, {{ first_name }}!",
        "Dear {{ first_name }},\n\nEveryone at Nightshift wishes you a happy birthday.\n"
        "Enjoy 10% off your next purchase this week.\n\nThe Nightshift team",
    ),
    (
        "birthday-pt-br",
        "Feliz aniversário",
        "pt-br",
        "Feliz aniversário, {{ first_name }}!",
        "Olá {{ first_name }},\n\nToda a equipe Nightshift deseja um feliz aniversário.\n"
        "Aproveite 10% de desconto na sua próxima compra esta semana.\n\nEquipe Nightshift",
    ),
    (
        "nurture-1",
        "Lead nurture, step 1: welcome",
        "en",
        "Thanks for your interest, {{ first_name }}",
        "Hi {{ first_name }},\n\nThanks for reaching out. Here is what our fibre plans offer.\n"
        "Reply to this e-mail and an account manager will call you.",
    ),
    (
        "nurture-2",
        "Lead nurture, step 2: case study",
        "en",
        "How {{ company_name }} could save on connectivity",
        "Hi {{ first_name }},\n\nCompanies like yours cut their bills by 20% with our combos.\n"
        "Shall we book a 15-minute call?",
    ),
    (
        "nurture-3",
        "Lead nurture, step 3: last call",
        "en",
        "Still interested, {{ first_name }}?",
        "Hi {{ first_name }},\n\nThis is our last message unless you reply.\n"
        "The installation is free until the end of the month.",
    ),
    (
        "run-summary",
        "Process run summary",
        "en",
        "Run {{ number }} ({{ process }}) ended: {{ state }}",
        "Run {{ number }} of {{ process }} ended in state {{ state }}.\n"
        "Records: {{ total }}, succeeded: {{ succeeded }}, failed: {{ failed }}.",
    ),
]

# Addresses suppressed for reasons other than a rejected contact (bounces, complaints).
SUPPRESSED_OUTSIDERS = [
    ("bounce-hard@example.com", "Hard bounce"),
    ("no-reply@example.org", "Mailbox does not accept mail"),
    ("complaint@example.net", "Marked our e-mail as spam"),
]
