#!/usr/bin/env python3
"""keepa-sim against the Python `keepa` client's requests, sent by the real
python-requests library (Debian's python3-requests).

The client (akaszynski/keepa 2a67d44, src/keepa/keepa_sync.py) sends every
call as ``requests.get(f"https://api.keepa.com/{request_type}/?", payload,
timeout=...)`` and reads the answer with ``raw.json()``. Its own module
cannot be imported with requests alone (keepa_sync imports tqdm, pydantic
models and numpy/pandas through keepa.utils), so this script builds each
payload as Keepa.update_status, Keepa.query/_product_query, Keepa.deals,
Keepa.product_finder, Keepa.category_lookup and Keepa.seller_query do, and
checks what their parsing reads: the envelope keys _request copies into
Keepa.status, product["csv"] for parse_csv, the stats lists
_parse_stat_value_list unpacks, deals["dr"], asinList, categories and
sellers[...]["sellerId"].

Usage: python_client.py KEEPA_SIM_EXE. Exit 0 when every check passed, 1
otherwise, 77 (skipped) when python3-requests is missing.
"""

import json
import select
import subprocess
import sys

try:
    import requests
except ImportError:  # pragma: no cover
    print("python3-requests is not installed: skipped")
    sys.exit(77)

KEY = "sim-key"
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAILED:", what)


def start(exe):
    """Starts keepa-sim on a free port; returns (process, port)."""
    proc = subprocess.Popen(
        [exe, "--sim.port=0", "--sim.products=500", "--sim.refill-rate=100"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"KEEPA_SIM_KEY": KEY},
    )
    ready, _, _ = select.select([proc.stdout], [], [], 20)
    if not ready:
        proc.kill()
        proc.wait(timeout=10)
        sys.exit("keepa-sim did not print its port within 20 s")
    line = proc.stdout.readline().decode()
    if "listening on 127.0.0.1:" not in line:
        proc.kill()
        proc.wait(timeout=10)
        sys.exit("unexpected first line: " + line)
    return proc, int(line.strip().rsplit(":", 1)[1])


def request(base, request_type, payload):
    """Keepa._request: GET "<base>/<type>/?" with the payload as params."""
    raw = requests.get(f"{base}/{request_type}/?", payload, timeout=10)
    check(raw.status_code == 200, f"{request_type}: status {raw.status_code}")
    response = raw.json()
    # "user status is always returned"
    for key in ["tokensLeft", "refillIn", "refillRate", "timestamp"]:
        check(isinstance(response.get(key), int), f"{request_type}: {key} int")
    check(isinstance(response.get("tokenFlowReduction"), (int, float)),
          f"{request_type}: tokenFlowReduction number")
    return raw, response


def check_csv(csv, asin):
    """What parse_csv indexes: csv[ind] None or a flat list of ints."""
    check(isinstance(csv, list), f"{asin}: csv list")
    for ind, hist in enumerate(csv):
        if hist is None:
            continue
        check(all(isinstance(x, int) for x in hist), f"{asin}: csv[{ind}] ints")
        stride = 3 if 18 <= ind <= 29 or ind in (7, 32) else 2
        check(len(hist) % stride == 0, f"{asin}: csv[{ind}] stride {stride}")


def check_stats(stats, asin):
    """What _parse_stats / _parse_stat_value_list read: list values are
    either ints or, once one entry is a list, [time, value] pairs."""
    for key, value in stats.items():
        if not isinstance(value, list) or not value:
            continue
        lists = any(isinstance(v, list) for v in value if v is not None)
        for item in value:
            if item is None:
                continue
            if lists:
                check(isinstance(item, list) and len(item) == 2,
                      f"{asin}: stats.{key} [time, value] pairs")
            elif key not in ("buyBoxSellerId", "sellerIdsLowestFBA",
                             "sellerIdsLowestFBM"):
                check(isinstance(item, (int, bool)), f"{asin}: stats.{key} ints")


def main(exe):
    proc, port = start(exe)
    base = f"http://127.0.0.1:{port}"
    try:
        # Keepa.update_status
        raw, _ = request(base, "token", {"key": KEY})
        check(raw.url.endswith("/token/?key=" + KEY), "token URL " + raw.url)

        # Keepa.finder + Keepa.query: ASINs of the catalogue first.
        finder = {"rootCategory": ["283155"], "current_SALES_lte": 8000000,
                  "sort": [["current_SALES", "asc"]], "perPage": 50, "page": 0}
        _, found = request(base, "query", {"key": KEY, "domain": 1,
                                           "selection": json.dumps(finder)})
        asins = found.get("asinList", [])
        check(len(asins) == 50 and all(isinstance(a, str) for a in asins),
              "asinList of 50 strings")
        check(isinstance(found.get("totalResults"), int), "totalResults int")

        # Keepa.query(asins, stats=90, offers=20) -> _product_query kwargs.
        kwargs = {"stats": 90, "domain": 1, "stock": 0, "offers": 20,
                  "history": 1, "rating": 0, "buybox": 0, "videos": 0,
                  "aplus": 0, "asin": ",".join(asins[:20]), "key": KEY}
        raw, response = request(base, "product", kwargs)
        products = response.get("products", [])
        check(len(products) == 20, "20 products")
        for product in products:
            if product["csv"]:
                check_csv(product["csv"], product["asin"])
            if product.get("stats"):
                check_stats(product["stats"], product["asin"])
            check(isinstance(product.get("offers"), list), "offers list")

        # Keepa.query(..., history=False, days=7, only_live_offers=True)
        kwargs = {"domain": 1, "stock": 0, "history": 0, "rating": 0,
                  "buybox": 0, "days": 7, "videos": 0, "aplus": 0,
                  "only-live-offers": 1, "asin": asins[0], "key": KEY}
        _, response = request(base, "product", kwargs)
        check("csv" not in response["products"][0]
              or not response["products"][0]["csv"], "history=0: no csv")

        # Keepa.deals(deal_parms): "priceTypes" defaults to 0.
        deal_parms = {"page": 0, "domainId": 1, "dateRange": 3, "sortType": 1}
        deal_parms.setdefault("priceTypes", 0)
        _, response = request(base, "deal", {
            "key": KEY, "domain": 1, "selection": json.dumps(deal_parms)})
        deals = response.get("deals", {})
        check(isinstance(deals.get("dr"), list) and deals["dr"], "deals.dr")
        for deal in deals.get("dr", []):
            check(isinstance(deal.get("asin"), str), "deal asin")
            check(len(deal.get("avg", [])) == 4, "deal avg [dateRange][type]")

        # Keepa.category_lookup(0) and (283155, include_parents=True).
        for category, parents in ((0, 0), (283155, 1)):
            _, response = request(base, "category", {
                "key": KEY, "domain": 1, "category": category,
                "parents": parents})
            check(response.get("categories") not in (None, {}), "categories")
            check("283155" in response.get("categories", {}), "Books root")

        # Keepa.seller_query(seller_id): a seller of an offer above.
        seller = next(o["sellerId"] for p in products for o in p["offers"])
        _, response = request(base, "seller", {"key": KEY, "domain": 1,
                                               "seller": seller})
        sellers = response.get("sellers", {})
        check(seller in sellers and sellers[seller]["sellerId"] == seller,
              "sellers[id].sellerId")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    check(proc.returncode == 0, f"keepa-sim exit code {proc.returncode}")
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
