"""A labelled set of realistic handler failures for the memory retrieval tests.

Each ``Bug`` yields two failures of the same bug: ``stored`` (remembered, then resolved) and
``query`` (a later occurrence: another job id, other values, other wording where Python words it
differently, line numbers moved by an edit elsewhere in the file, sometimes another caller).
``NEGATIVES`` are failures whose bug is not in the stored set: unrelated handlers, and other bugs
in the same handlers as stored ones. Signatures are written the way the context extractor
normalises them (numbers -> <N>, ids -> <ID>).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from smartworker.reasoning.context import FailureContext, Frame, Location


@dataclass(frozen=True)
class Site:
    """A function in the app and the line (index into ``body``) where the failure surfaces."""

    path: str
    function: str
    body: tuple[str, ...]
    at: int
    first_line: int = 10


@dataclass(frozen=True)
class Bug:
    """One bug: the frames it fails through (outermost first) and two occurrences."""

    key: str
    job: str
    exception: str
    messages: tuple[str, str]
    sites: tuple[Site, ...]
    data: tuple[dict[str, Any], dict[str, Any]]
    #: query occurrence enters through another caller (replaces the outermost site)
    query_caller: Site | None = None
    opts: dict[str, Any] = field(default_factory=lambda: {"attempts": 3})


def normalise(exception: str, message: str) -> str:
    """The extractor's signature shape, approximately: numbers and hex ids masked."""
    text = re.sub(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "<UUID>", message)
    text = re.sub(r"\b\d{4}-\d{2}-\d{2}[T ][\d:.+]+\b", "<TIMESTAMP>", text)
    text = re.sub(r"\b\d+(\.\d+)?\b", "<N>", text)
    return f"{exception}: {text}" if text else exception


def _snippet(site: Site, shift: int) -> str:
    out = []
    for i, line in enumerate(site.body):
        number = site.first_line + shift + i
        mark = ">>>" if i == site.at else "   "
        out.append(f"{mark} {number:4d} | {line}")
    return "\n".join(out)


def build(bug: Bug, variant: int, job_id: str, queue: str = "jobs") -> FailureContext:
    """Occurrence ``variant`` (0 stored, 1 query) of ``bug`` as the extractor would produce it."""
    shift = 0 if variant == 0 else 3
    sites = list(bug.sites)
    if variant == 1 and bug.query_caller is not None:
        sites[0] = bug.query_caller
    frames: list[Frame] = [Frame("/opt/smartworker/worker.py", 212, "_run_handler", "result = await handler(job)")]
    locations: list[Location] = []
    snippets: list[str] = []
    for site in sites:
        line = site.first_line + shift + site.at
        code = site.body[site.at].strip()
        frames.append(Frame(f"/srv/app/{site.path}", line, site.function, code))
        locations.append(Location(site.path, line, site.function, code))
        snippets.append(_snippet(site, shift))
    message = bug.messages[variant]
    tb_lines = ["Traceback (most recent call last):"]
    for frame in frames:
        tb_lines.append(f'  File "{frame.file}", line {frame.line}, in {frame.function}')
        tb_lines.append(f"    {frame.code}")
    tb_lines.append(f"{bug.exception}: {message}" if message else bug.exception)
    return FailureContext(
        queue=queue,
        job_id=job_id,
        job_name=bug.job,
        attempts=3,
        data=bug.data[variant],
        opts=dict(bug.opts),
        exception_type=bug.exception,
        message=message,
        signature=normalise(bug.exception, message),
        traceback="\n".join(tb_lines),
        frames=frames,
        locations=locations,
        snippets=snippets[:3],
        sources={},
    )


# -- shared code -------------------------------------------------------------------------------------
SEND_WELCOME_USER = Site("app/mail/welcome.py", "send_welcome", (
    "def send_welcome(data):",
    "    user = data['user']",
    "    address = user['email']",
    "    name = user.get('first_name') or 'there'",
    "    body = render('welcome.html', name=name)",
    "    return mailer.send(address, 'Welcome!', body)",
), 1)
SEND_WELCOME = Site("app/mail/welcome.py", "send_welcome", (
    "def send_welcome(data):",
    "    user = data['user']",
    "    address = user['email']",
    "    name = user.get('first_name') or 'there'",
    "    body = render('welcome.html', name=name)",
    "    return mailer.send(address, 'Welcome!', body)",
), 2)
IMPORT_ORDERS = Site("app/orders/importer.py", "import_row", (
    "def import_row(row):",
    "    sku = row['sku'].strip().upper()",
    "    quantity = row['qty'] * pack_size(sku)",
    "    price = Decimal(row['unit_price'])",
    "    return Order(sku=sku, quantity=quantity, total=price * quantity)",
), 1)
IMPORT_ORDERS_QTY = Site("app/orders/importer.py", "import_row", IMPORT_ORDERS.body, 2)
IMPORT_ORDERS_PRICE = Site("app/orders/importer.py", "import_row", IMPORT_ORDERS.body, 3)
IMPORT_BATCH = Site("app/orders/importer.py", "import_batch", (
    "def import_batch(data):",
    "    orders = []",
    "    for row in data['rows']:",
    "        orders.append(import_row(row))",
    "    return save_all(orders)",
), 3)
AVERAGE = Site("app/reports/stats.py", "average_order_value", (
    "def average_order_value(orders):",
    "    total = sum(o['amount'] for o in orders)",
    "    count = len([o for o in orders if o['status'] == 'paid'])",
    "    return total / count",
), 3)
DAILY_REPORT = Site("app/reports/daily.py", "build_daily_report", (
    "def build_daily_report(data):",
    "    orders = fetch_orders(day=data['day'], shop=data['shop_id'])",
    "    summary = {'shop': data['shop_id'], 'day': data['day']}",
    "    summary['aov'] = average_order_value(orders)",
    "    return publish(summary)",
), 3)
WEEKLY_REPORT = Site("app/reports/weekly.py", "build_weekly_report", (
    "def build_weekly_report(data):",
    "    orders = fetch_orders(week=data['week'], shop=data['shop_id'])",
    "    result = {'week': data['week']}",
    "    result['aov'] = average_order_value(orders)",
    "    return publish(result)",
), 3)
PARSE_WEBHOOK = Site("app/webhooks/stripe.py", "handle_webhook", (
    "def handle_webhook(data):",
    "    payload = json.loads(data['body'])",
    "    event = payload['type']",
    "    handler = EVENT_HANDLERS.get(event, ignore)",
    "    return handler(payload['data']['object'])",
), 1)
EXPIRE_SESSIONS = Site("app/auth/sessions.py", "expire_sessions", (
    "def expire_sessions(data):",
    "    cutoff = datetime.fromisoformat(data['before'])",
    "    expired = [s for s in Session.all() if s.last_seen < cutoff]",
    "    for session in expired:",
    "        session.delete()",
    "    return len(expired)",
), 2)
RESIZE = Site("app/media/thumbnails.py", "make_thumbnail", (
    "def make_thumbnail(data):",
    "    image = storage.open(data['path'])",
    "    width, height = image.size",
    "    ratio = data['max_width'] / width",
    "    new_size = (data['max_width'], int(height * ratio))",
    "    return image.resize(new_size).save(thumb_path(data['path']))",
), 4)
PROFILE = Site("app/users/profile.py", "sync_profile", (
    "def sync_profile(data):",
    "    user = User.find(data['user_id'])",
    "    display = user.nickname.strip() or user.full_name",
    "    crm.update(user.id, display_name=display)",
    "    return display",
), 2)
INVOICE = Site("app/billing/invoices.py", "render_invoice", (
    "def render_invoice(data):",
    "    customer = Customer.get(data['customer_id'])",
    "    lines = [format_line(item) for item in data['items']]",
    "    header = 'Invoice ' + data['number'] + ' for ' + customer.name",
    "    return pdf.render(header, lines)",
), 3)
INVOICE_LINES = Site("app/billing/invoices.py", "render_invoice", INVOICE.body, 2)
FORMAT_LINE = Site("app/billing/invoices.py", "format_line", (
    "def format_line(item):",
    "    amount = item['price'] * item['quantity']",
    "    return f\"{item['name']:<30} {amount:>10.2f}\"",
), 1)
CURRENCY = Site("app/billing/fx.py", "convert", (
    "def convert(amount, currency):",
    "    rate = RATES[currency]",
    "    return round(amount * rate, 2)",
), 1)
PAYOUT = Site("app/billing/payouts.py", "schedule_payout", (
    "def schedule_payout(data):",
    "    amount = convert(data['amount'], data['currency'])",
    "    if amount < MIN_PAYOUT:",
    "        return defer(data)",
    "    return bank.transfer(data['account'], amount)",
), 1)
REFUND = Site("app/billing/refunds.py", "issue_refund", (
    "def issue_refund(data):",
    "    charge = gateway.charges.retrieve(data['charge_id'])",
    "    refund_amount = convert(data['amount'], charge.currency)",
    "    return gateway.refunds.create(charge=charge.id, amount=refund_amount)",
), 2)
CSV_EXPORT = Site("app/exports/csv_export.py", "export_customers", (
    "def export_customers(data):",
    "    rows = Customer.query(segment=data['segment'])",
    "    with open(export_path(data['export_id']), 'w') as fh:",
    "        writer = csv.writer(fh)",
    "        for row in rows:",
    "            writer.writerow([row.id, row.email, row.created.strftime('%Y-%m-%d')])",
), 5)
PAGINATE = Site("app/sync/crm_pull.py", "pull_contacts", (
    "def pull_contacts(data):",
    "    page = crm.contacts(cursor=data.get('cursor'))",
    "    for contact in page['results']:",
    "        upsert_contact(contact)",
    "    return enqueue_next(page['paging']['next']['after'])",
), 4)
INVENTORY = Site("app/inventory/stock.py", "reserve_stock", (
    "def reserve_stock(data):",
    "    item = Inventory.get(data['sku'])",
    "    remaining = item.available - int(data['quantity'])",
    "    if remaining < 0:",
    "        raise OutOfStock(data['sku'])",
    "    item.update(available=remaining)",
), 2)
SHIPPING = Site("app/shipping/labels.py", "create_label", (
    "def create_label(data):",
    "    address = data['shipping_address']",
    "    parcel = Parcel(weight=float(data['weight_kg']), dims=data['dims'])",
    "    zip_code = address['postal_code'].replace(' ', '')",
    "    return carrier.label(zip_code, parcel)",
), 2)
SHIPPING_ZIP = Site("app/shipping/labels.py", "create_label", SHIPPING.body, 3)
TZ_REMINDER = Site("app/reminders/due.py", "send_due_reminders", (
    "def send_due_reminders(data):",
    "    now = datetime.now(timezone.utc)",
    "    for invoice in Invoice.unpaid():",
    "        if invoice.due_date < now:",
    "            notify_overdue(invoice)",
), 3)
RETRY_HOOK = Site("app/webhooks/outgoing.py", "deliver", (
    "def deliver(data):",
    "    response = http.post(data['url'], json=data['payload'], timeout=10)",
    "    response.raise_for_status()",
    "    ack = response.json()",
    "    return ack['delivery_id']",
), 3)
SLUG = Site("app/cms/articles.py", "publish_article", (
    "def publish_article(data):",
    "    article = Article.get(data['article_id'])",
    "    slug = slugify(article.title)",
    "    article.url = '/blog/' + article.published_at.year + '/' + slug",
    "    return article.save()",
), 3)
COUPON = Site("app/promo/coupons.py", "apply_coupon", (
    "def apply_coupon(data):",
    "    coupon = COUPONS[data['code'].upper()]",
    "    discount = coupon['percent'] / 100 * data['subtotal']",
    "    return max(data['subtotal'] - discount, 0)",
), 1)
AGE = Site("app/users/age_check.py", "verify_age", (
    "def verify_age(data):",
    "    born = date.fromisoformat(data['birth_date'])",
    "    age = (date.today() - born).days // 365",
    "    return age >= data['min_age']",
), 1)
SPLIT_NAME = Site("app/users/import_users.py", "split_name", (
    "def split_name(full_name):",
    "    first, last = full_name.rsplit(' ', 1)",
    "    return first.title(), last.title()",
), 1)
IMPORT_USERS = Site("app/users/import_users.py", "import_user", (
    "def import_user(data):",
    "    first, last = split_name(data['name'])",
    "    return User.create(first_name=first, last_name=last, email=data['email'])",
), 1)
BATCH_EMAIL = Site("app/mail/digest.py", "send_digest", (
    "def send_digest(data):",
    "    items = fetch_items(data['user_id'], since=data['since'])",
    "    top = sorted(items, key=lambda i: i['score'], reverse=True)[:data['limit']]",
    "    body = render('digest.html', items=top)",
    "    return mailer.send(data['email'], 'Your digest', body)",
), 2)
CACHE = Site("app/catalog/cache.py", "warm_cache", (
    "def warm_cache(data):",
    "    for product_id in data['product_ids']:",
    "        product = catalog.get(product_id)",
    "        cache.set(f'product:{product_id}', product.to_json(), ttl=data['ttl'])",
), 3)
GEO = Site("app/geo/lookup.py", "geocode_store", (
    "def geocode_store(data):",
    "    result = geocoder.search(data['address'])",
    "    lat, lon = result[0]['lat'], result[0]['lon']",
    "    return Store.update(data['store_id'], lat=float(lat), lon=float(lon))",
), 2)
PERCENT = Site("app/analytics/funnel.py", "conversion_rate", (
    "def conversion_rate(data):",
    "    visits = metrics.count('visit', day=data['day'])",
    "    orders = metrics.count('order', day=data['day'])",
    "    return round(100 * orders / visits, 2)",
), 3)
XML_FEED = Site("app/feeds/supplier.py", "parse_feed", (
    "def parse_feed(data):",
    "    root = ElementTree.fromstring(data['xml'])",
    "    items = root.find('items').findall('item')",
    "    return [parse_item(i) for i in items]",
), 2)
ENUM = Site("app/orders/status.py", "advance_status", (
    "def advance_status(data):",
    "    current = OrderStatus(data['status'])",
    "    nxt = TRANSITIONS[current]",
    "    return Order.update(data['order_id'], status=nxt.value)",
), 1)
SCHED = Site("app/scheduling/slots.py", "book_slot", (
    "def book_slot(data):",
    "    start = datetime.strptime(data['start'], '%Y-%m-%d %H:%M')",
    "    end = start + timedelta(minutes=data['duration'])",
    "    return calendar.book(data['resource_id'], start, end)",
), 1)
LIST_IDX = Site("app/search/reindex.py", "reindex_batch", (
    "def reindex_batch(data):",
    "    docs = store.load(data['ids'])",
    "    first = docs[0]",
    "    index.bulk(docs, schema=first.schema)",
), 2)
UNPACK_PAIR = Site("app/settings/flags.py", "load_flags", (
    "def load_flags(data):",
    "    flags = {}",
    "    for entry in data['flags'].split(','):",
    "        name, value = entry.split('=')",
    "        flags[name.strip()] = value.strip() == 'on'",
    "    return flags",
), 3)
DECIMAL = Site("app/billing/tax.py", "add_tax", (
    "def add_tax(data):",
    "    net = Decimal(data['net'])",
    "    return net + net * data['tax_rate']",
), 2)
RECURSION = Site("app/catalog/tree.py", "category_path", (
    "def category_path(category):",
    "    if category.parent is None:",
    "        return [category.name]",
    "    return category_path(category.parent) + [category.name]",
), 3)
UNICODE = Site("app/exports/legacy.py", "write_legacy", (
    "def write_legacy(data):",
    "    line = '|'.join([data['name'], data['city'], data['note']])",
    "    encoded = line.encode('ascii')",
    "    return ftp.append(data['file'], encoded)",
), 2)


BUGS: tuple[Bug, ...] = (
    Bug("welcome-missing-email", "send_welcome_email", "KeyError", ("'email'", "'email'"), (SEND_WELCOME,),
        ({"user": {"id": 4411, "first_name": "Ana", "mail": "ana@example.org"}},
         {"user": {"id": 98012, "first_name": "Tom", "mail": "tom.b@example.com", "locale": "de"}})),
    Bug("orders-missing-sku", "import_orders", "KeyError", ("'sku'", "'sku'"), (IMPORT_BATCH, IMPORT_ORDERS),
        ({"rows": [{"SKU": "ab-1", "qty": 2, "unit_price": "9.90"}], "batch": 17},
         {"rows": [{"SKU": "zz-9", "qty": 1, "unit_price": "120.00"}, {"SKU": "x", "qty": 3, "unit_price": "1"}],
          "batch": 904})),
    Bug("orders-qty-str", "import_orders", "TypeError",
        ("can't multiply sequence by non-int of type 'int'", "can't multiply sequence by non-int of type 'int'"),
        (IMPORT_BATCH, IMPORT_ORDERS_QTY),
        ({"rows": [{"sku": "ab-1", "qty": "2", "unit_price": "9.90"}], "batch": 18},
         {"rows": [{"sku": "q-77", "qty": "12", "unit_price": "3.10"}], "batch": 1203})),
    Bug("aov-zero-paid", "daily_report", "ZeroDivisionError", ("division by zero", "division by zero"),
        (DAILY_REPORT, AVERAGE),
        ({"day": "2026-10-01", "shop_id": 12}, {"day": "2026-11-13", "shop_id": 301}),
        query_caller=WEEKLY_REPORT),
    Bug("webhook-bad-json", "stripe_webhook", "json.decoder.JSONDecodeError",
        ("Expecting value: line 1 column 1 (char 0)", "Expecting value: line 1 column 1 (char 0)"),
        (PARSE_WEBHOOK,),
        ({"body": "", "signature": "t=1,v1=abc"}, {"body": "<html>502 Bad Gateway</html>", "signature": "t=9,v1=f"})),
    Bug("sessions-naive-aware", "expire_sessions", "TypeError",
        ("can't compare offset-naive and offset-aware datetimes",
         "can't compare offset-naive and offset-aware datetimes"),
        (EXPIRE_SESSIONS,), ({"before": "2026-10-01T00:00:00"}, {"before": "2026-11-20T12:30:00"})),
    Bug("thumb-zero-width", "make_thumbnail", "ZeroDivisionError",
        ("division by zero", "float division by zero"), (RESIZE,),
        ({"path": "uploads/a1.png", "max_width": 320}, {"path": "uploads/catalog/b77.jpg", "max_width": 640})),
    Bug("profile-none-nickname", "sync_profile", "AttributeError",
        ("'NoneType' object has no attribute 'strip'", "'NoneType' object has no attribute 'strip'"),
        (PROFILE,), ({"user_id": 551}, {"user_id": 70213})),
    Bug("invoice-number-int", "render_invoice", "TypeError",
        ('can only concatenate str (not "int") to str', 'can only concatenate str (not "int") to str'),
        (INVOICE,),
        ({"customer_id": 9, "number": 1042, "items": []},
         {"customer_id": 310, "number": 20311, "items": [{"name": "Pen", "price": 1.5, "quantity": 2}]})),
    Bug("invoice-line-price-str", "render_invoice", "TypeError",
        ("can't multiply sequence by non-int of type 'float'", "can't multiply sequence by non-int of type 'float'"),
        (INVOICE_LINES, FORMAT_LINE),
        ({"customer_id": 9, "number": "A-1", "items": [{"name": "Pen", "price": "1.50", "quantity": 2.0}]},
         {"customer_id": 44, "number": "A-77", "items": [{"name": "Ink", "price": "7.00", "quantity": 1.0}]})),
    Bug("payout-unknown-currency", "schedule_payout", "KeyError", ("'CHF'", "'SEK'"), (PAYOUT, CURRENCY),
        ({"amount": 120.0, "currency": "CHF", "account": "acct_1"},
         {"amount": 5400.5, "currency": "SEK", "account": "acct_88"}),
        query_caller=REFUND),
    Bug("export-created-none", "export_customers", "AttributeError",
        ("'NoneType' object has no attribute 'strftime'", "'NoneType' object has no attribute 'strftime'"),
        (CSV_EXPORT,), ({"segment": "vip", "export_id": 12}, {"segment": "churned", "export_id": 907})),
    Bug("crm-last-page", "pull_contacts", "TypeError",
        ("'NoneType' object is not subscriptable", "'NoneType' object is not subscriptable"), (PAGINATE,),
        ({"cursor": "abc"}, {"cursor": None})),
    Bug("stock-quantity-words", "reserve_stock", "ValueError",
        ("invalid literal for int() with base 10: 'two'", "invalid literal for int() with base 10: 'a dozen'"),
        (INVENTORY,), ({"sku": "TSHIRT-M", "quantity": "two"}, {"sku": "MUG-01", "quantity": "a dozen"})),
    Bug("label-weight-comma", "create_label", "ValueError",
        ("could not convert string to float: '1,5'", "could not convert string to float: '0,75'"), (SHIPPING,),
        ({"shipping_address": {"postal_code": "10115"}, "weight_kg": "1,5", "dims": [10, 20, 5]},
         {"shipping_address": {"postal_code": "80331"}, "weight_kg": "0,75", "dims": [30, 30, 8]})),
    Bug("reminder-naive-due", "send_due_reminders", "TypeError",
        ("can't compare offset-naive and offset-aware datetimes",
         "can't compare offset-naive and offset-aware datetimes"),
        (TZ_REMINDER,), ({"run": 1}, {"run": 2})),
    Bug("deliver-ack-html", "deliver_webhook", "json.decoder.JSONDecodeError",
        ("Expecting value: line 1 column 1 (char 0)", "Expecting value: line 2 column 1 (char 1)"), (RETRY_HOOK,),
        ({"url": "https://hooks.example.org/a", "payload": {"event": "paid"}},
         {"url": "https://partner.example.com/cb", "payload": {"event": "refunded", "id": 3}})),
    Bug("article-year-int", "publish_article", "TypeError",
        ('can only concatenate str (not "int") to str', 'can only concatenate str (not "int") to str'), (SLUG,),
        ({"article_id": 77}, {"article_id": 1203})),
    Bug("coupon-unknown", "apply_coupon", "KeyError", ("'SUMMER10'", "'BLACKFRIDAY'"), (COUPON,),
        ({"code": "summer10", "subtotal": 80.0}, {"code": "blackfriday", "subtotal": 249.99})),
    Bug("age-bad-date", "verify_age", "ValueError",
        ("Invalid isoformat string: '31/12/1990'", "Invalid isoformat string: '1985.07.04'"), (AGE,),
        ({"birth_date": "31/12/1990", "min_age": 18}, {"birth_date": "1985.07.04", "min_age": 21})),
    Bug("split-single-name", "import_users", "ValueError",
        ("not enough values to unpack (expected 2, got 1)", "not enough values to unpack (expected 2, got 1)"),
        (IMPORT_USERS, SPLIT_NAME),
        ({"name": "Madonna", "email": "m@example.org"}, {"name": "Cher", "email": "cher@example.com"})),
    Bug("digest-score-none", "send_digest", "TypeError",
        ("'<' not supported between instances of 'NoneType' and 'float'",
         "'<' not supported between instances of 'float' and 'NoneType'"), (BATCH_EMAIL,),
        ({"user_id": 5, "since": "2026-10-01", "limit": 5, "email": "a@example.org"},
         {"user_id": 812, "since": "2026-11-01", "limit": 10, "email": "b@example.org"})),
    Bug("cache-product-missing", "warm_cache", "AttributeError",
        ("'NoneType' object has no attribute 'to_json'", "'NoneType' object has no attribute 'to_json'"),
        (CACHE,), ({"product_ids": [1, 2, 3], "ttl": 300}, {"product_ids": [9001, 9002], "ttl": 60})),
    Bug("geocode-no-result", "geocode_store", "IndexError", ("list index out of range", "list index out of range"),
        (GEO,), ({"address": "Unknown 1", "store_id": 3}, {"address": "Nowhere Lane 99", "store_id": 410})),
    Bug("funnel-no-visits", "conversion_rate", "ZeroDivisionError", ("division by zero", "division by zero"),
        (PERCENT,), ({"day": "2026-01-01"}, {"day": "2026-12-25"})),
    Bug("feed-no-items", "parse_supplier_feed", "AttributeError",
        ("'NoneType' object has no attribute 'findall'", "'NoneType' object has no attribute 'findall'"),
        (XML_FEED,), ({"xml": "<feed><products/></feed>"}, {"xml": "<feed><entries><e/></entries></feed>"})),
    Bug("status-unknown", "advance_order_status", "ValueError",
        ("'shipped_partial' is not a valid OrderStatus", "'on_hold' is not a valid OrderStatus"), (ENUM,),
        ({"status": "shipped_partial", "order_id": 55}, {"status": "on_hold", "order_id": 7781})),
    Bug("slot-time-format", "book_slot", "ValueError",
        ("time data '2026-10-01T09:00' does not match format '%Y-%m-%d %H:%M'",
         "time data '01.11.2026 14:30' does not match format '%Y-%m-%d %H:%M'"), (SCHED,),
        ({"start": "2026-10-01T09:00", "duration": 30, "resource_id": 2},
         {"start": "01.11.2026 14:30", "duration": 45, "resource_id": 19})),
    Bug("reindex-empty", "reindex_batch", "IndexError", ("list index out of range", "list index out of range"),
        (LIST_IDX,), ({"ids": []}, {"ids": []})),
    Bug("flags-bad-entry", "load_feature_flags", "ValueError",
        ("not enough values to unpack (expected 2, got 1)", "too many values to unpack (expected 2)"),
        (UNPACK_PAIR,), ({"flags": "beta=on,newui"}, {"flags": "beta=on,x=y=z"})),
    Bug("tax-float-decimal", "add_tax", "TypeError",
        ("unsupported operand type(s) for *: 'decimal.Decimal' and 'float'",
         "unsupported operand type(s) for *: 'decimal.Decimal' and 'float'"), (DECIMAL,),
        ({"net": "100.00", "tax_rate": 0.19}, {"net": "12.50", "tax_rate": 0.07})),
    Bug("category-cycle", "rebuild_breadcrumbs", "RecursionError",
        ("maximum recursion depth exceeded", "maximum recursion depth exceeded while calling a Python object"),
        (RECURSION,), ({"category_id": 4}, {"category_id": 88})),
    Bug("legacy-ascii", "legacy_export", "UnicodeEncodeError",
        ("'ascii' codec can't encode character '\\xfc' in position 12: ordinal not in range(128)",
         "'ascii' codec can't encode character '\\xe9' in position 3: ordinal not in range(128)"), (UNICODE,),
        ({"name": "Jürgen", "city": "München", "note": "", "file": "a.txt"},
         {"name": "René", "city": "Lyon", "note": "vip", "file": "b.txt"})),
)


#: Failures whose bug is not among BUGS: the memory must not elect a winner for them.
NEGATIVES: tuple[Bug, ...] = (
    # same handlers as stored bugs, other bugs
    Bug("orders-bad-price", "import_orders", "decimal.InvalidOperation",
        ("[<class 'decimal.ConversionSyntax'>]", "[<class 'decimal.ConversionSyntax'>]"),
        (IMPORT_BATCH, IMPORT_ORDERS_PRICE),
        ({"rows": [{"sku": "a", "qty": 1, "unit_price": "n/a"}], "batch": 3},) * 2),
    Bug("label-zip-none", "create_label", "AttributeError",
        ("'NoneType' object has no attribute 'replace'", "'NoneType' object has no attribute 'replace'"),
        (SHIPPING_ZIP,),
        ({"shipping_address": {"postal_code": None}, "weight_kg": "2", "dims": [1, 2, 3]},) * 2),
    Bug("welcome-no-user", "send_welcome_email", "KeyError", ("'user'", "'user'"), (SEND_WELCOME_USER,),
        ({"account": {"id": 7, "email": "x@example.org"}},) * 2),
    # unrelated handlers
    Bug("upload-permission", "store_upload", "PermissionError",
        ("[Errno 13] Permission denied: '/var/uploads/tmp/a.bin'",) * 2,
        (Site("app/uploads/store.py", "store_upload", (
            "def store_upload(data):",
            "    target = UPLOAD_DIR / data['name']",
            "    with open(target, 'wb') as fh:",
            "        fh.write(base64.b64decode(data['content']))",
        ), 2),),
        ({"name": "a.bin", "content": "AAAA"},) * 2),
    Bug("sms-timeout", "send_sms", "TimeoutError", ("timed out",) * 2,
        (Site("app/notify/sms.py", "send_sms", (
            "def send_sms(data):",
            "    client = SmsClient(api_key=settings.sms_key)",
            "    return client.send(to=data['phone'], text=data['text'])",
        ), 2),),
        ({"phone": "+491700000000", "text": "Your code"},) * 2),
    Bug("report-assert", "monthly_close", "AssertionError", ("ledger does not balance",) * 2,
        (Site("app/finance/close.py", "monthly_close", (
            "def monthly_close(data):",
            "    entries = Ledger.entries(month=data['month'])",
            "    assert sum(e.amount for e in entries) == 0, 'ledger does not balance'",
            "    return Ledger.lock(data['month'])",
        ), 2),),
        ({"month": "2026-10"},) * 2),
    Bug("zip-bad-archive", "unpack_archive", "zipfile.BadZipFile", ("File is not a zip file",) * 2,
        (Site("app/imports/archive.py", "unpack_archive", (
            "def unpack_archive(data):",
            "    with zipfile.ZipFile(storage.open(data['key'])) as zf:",
            "        return zf.namelist()",
        ), 1),),
        ({"key": "imports/2026/a.zip"},) * 2),
)
