"""Statistics shared by the experiments."""

from __future__ import annotations

# The 0.975 quantiles of Student's t for 1..30 degrees of freedom, exact to 3 decimals (used without scipy).
_T_975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
          2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def t_quantile_975(dof: int) -> float:
    """The 0.975 quantile of Student's t with ``dof`` degrees of freedom (scipy when present, else the table,
    and beyond 30 the Cornish-Fisher expansion about the normal 1.960, within 1e-4 there); nan for ``dof < 1``."""
    if dof < 1:
        return float("nan")
    try:
        from scipy.stats import t

        return float(t.ppf(0.975, dof))
    except ImportError:
        if dof <= len(_T_975):
            return _T_975[dof - 1]
        # not the normal 1.960: that is 4% short at 31 dof (2.040), so every interval there was too narrow
        z, v = 1.959964, float(dof)
        return (z + (z ** 3 + z) / (4 * v) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * v ** 2)
                + (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / (384 * v ** 3))
