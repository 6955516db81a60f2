"""Turn a pytest-benchmark JSON into the markdown tables of bench/RESULTS.md.

    python bench/report.py walks.json

For each group: every implementation's median time, bytes/s (compulsory bytes / median, where the
benchmark recorded them, and as a share of the measured copy bandwidth on that device), and the
ratio of each baseline's time to the fastest rankcore entry of the group.
"""

import json
import sys
from collections import defaultdict


def main(path: str) -> None:
    data = json.load(open(path))
    groups = defaultdict(list)
    copy_bw = {}
    for b in data["benchmarks"]:
        info = b.get("extra_info", {})
        median = b["stats"]["median"]
        if info.get("impl") == "copy":
            copy_bw[b["group"].split()[-1]] = info["bytes"] / median
            continue
        groups[b["group"]].append((b["name"], info, median))
    print(f"machine: {data['machine_info'].get('cpu', {}).get('brand_raw', '?')}, "
          f"{data['machine_info'].get('cpu', {}).get('count', '?')} cores; date {data['datetime'][:10]}")
    for dev, bw in copy_bw.items():
        print(f"measured copy bandwidth ({dev}): {bw / 1e9:.1f} GB/s")
    for group, rows in groups.items():
        device = group.split()[-1]
        # A baseline timed over its first steps reports its extrapolated full time: compare that.
        rows = [(name, info, info.get("extrapolated_full_order_s", median)) for name, info, median in rows]
        rankcore_best = min((m for _, info, m in rows if info.get("impl") == "rankcore"), default=None)
        print(f"\n### {group}\n")
        print("| implementation | median s | GB/s (compulsory) | % of copy bw | time / rankcore |")
        print("|---|---|---|---|---|")
        for name, info, median in sorted(rows, key=lambda r: r[2]):
            label = info.get("impl", name)
            if "dtype" in info:
                label += f" {info['dtype'].replace('torch.', '')}"
            if "extrapolated_full_order_s" in info:
                label += ", extrapolated to the full order"
            gbs = info.get("bytes", 0) / median / 1e9
            share = f"{100 * gbs * 1e9 / copy_bw[device]:.0f}%" if device in copy_bw else "-"
            ratio = f"{median / rankcore_best:.2f}x" if rankcore_best else "-"
            print(f"| {label} | {median:.4f} | {gbs:.2f} | {share} | {ratio} |")


if __name__ == "__main__":
    main(sys.argv[1])
