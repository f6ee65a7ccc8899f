"""Coupon recommendation cost: the pricing function, in-process, on carts with one line from
each of N shops, six claimed coupons per shop and three platform coupons (the worst case of
issue "Hostile input and faults never cost a worker"). Prints ms per pricing and how many
pricing runs (evaluations) each took.

    .venv/bin/python -m bench.pricing [--iterations 20] [--shops 6 10]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from bench.common import print_table
from bench.common import summary
from services import pricing
from tests.factories import best_set
from tests.factories import shops_cart


def counted(fn: Callable[..., Any], calls: list[int]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return fn(*args, **kwargs)

    return wrapper


def measure(shops: int, iterations: int) -> list[object]:
    data = shops_cart(shops)
    calls = [0]
    original = pricing._evaluate
    pricing._evaluate = counted(original, calls)
    try:
        result = pricing.price(data)
    finally:
        pricing._evaluate = original
    ids, discount = best_set(shops)
    optimal = sorted(result.coupons_applied) == ids and result.coupon_discount == discount
    samples = []
    for _ in range(iterations):
        start = time.perf_counter()
        pricing.price(data)
        samples.append((time.perf_counter() - start) * 1000)
    stats = summary(samples)
    return [
        f"{shops} shops × 6 coupons + 3",
        stats["p50"],
        stats["p95"],
        calls[0],
        "yes" if optimal else "NO",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--shops", type=int, nargs="+", default=[6, 10])
    args = parser.parse_args()
    rows = [measure(shops, args.iterations) for shops in args.shops]
    print(f"pricing.price with the recommended coupon set, {args.iterations} iterations (ms)")
    print_table(["cart", "p50", "p95", "evaluations", "optimal"], rows)


if __name__ == "__main__":
    main()
