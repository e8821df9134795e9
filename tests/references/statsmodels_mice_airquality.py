"""Reference values from statsmodels' MICE for the air-quality regression
(data/airquality.csv, R's `airquality`), written to
case_studies/results/statsmodels_mice_airquality.csv (the case study
``missing_values`` reads it).

Ozone on Solar.R, Wind and Temp by ordinary least squares, with the missing
Ozone (37 days) and Solar.R (7 days) imputed by chained equations
(statsmodels.imputation.mice: predictive mean matching on each variable's
regression on the others), 10 burn-in cycles and 50 imputations, seed 2026;
estimates and standard errors combined by Rubin's rules (MICE.fit). Also
stored: complete-case OLS on the 111 complete days.

Run from the repository root:  python tests/references/statsmodels_mice_airquality.py
Needs: python -m pip install statsmodels
"""

from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels
import statsmodels.api as sm
from statsmodels.imputation.mice import MICE, MICEData

ROOT = Path(__file__).resolve().parents[2]
air = pd.read_csv(ROOT / "data" / "airquality.csv")[["Ozone", "Solar.R", "Wind", "Temp"]]
air.columns = ["Ozone", "Solar_R", "Wind", "Temp"]
np.random.seed(2026)  # MICEData draws from numpy's global generator
fit = MICE("Ozone ~ Solar_R + Wind + Temp", sm.OLS, MICEData(air)).fit(n_burnin=10, n_imputations=50)
complete = sm.OLS.from_formula("Ozone ~ Solar_R + Wind + Temp", air.dropna()).fit()
names = ["intercept", "Solar.R", "Wind", "Temp"]
rows = [dict(method=method, parameter=name, estimate=est, std_error=se, tool=tool, version=statsmodels.__version__)
        for method, tool, params, bse in (
            ("MICE", "statsmodels MICE(OLS), MICEData defaults, n_burnin=10, n_imputations=50, seed 2026",
             fit.params, fit.bse),
            ("complete cases", "statsmodels OLS on the 111 complete days", complete.params, complete.bse))
        for name, est, se in zip(names, np.asarray(params), np.asarray(bse))]
out = pd.DataFrame(rows)
out.to_csv(ROOT / "case_studies" / "results" / "statsmodels_mice_airquality.csv", index=False, float_format="%.10g")
print(out.to_string())
