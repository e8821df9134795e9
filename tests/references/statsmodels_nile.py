"""Reference values from statsmodels for the Nile (data/nile.csv, R's `Nile`),
written to case_studies/results/statsmodels_nile.csv (it ships with the case
study that reads it).

statsmodels fits the local-level and local-linear-trend models by numerical
maximisation of the exact diffuse log-likelihood (its default L-BFGS from its
own start), with standard errors from the observed information as a
numerical Hessian of the log-likelihood (``cov_type="approx"``; its
``cov_type="oim"`` is Harvey's 1989 formula, which leaves out the terms with
second derivatives of the model's matrices and gives smaller standard errors
on the Nile: 2,578 and 820 against 3,147 and 1,296). The case study ``system_identification`` reads the file;
the tests recompute statsmodels' side themselves.

Run from the repository root:  python tests/references/statsmodels_nile.py
Needs: python -m pip install statsmodels
"""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels
import statsmodels.api as sm

ROOT = Path(__file__).resolve().parents[2]
y = pd.read_csv(ROOT / "data" / "nile.csv")["flow"].to_numpy(dtype=float)
rows = []
for model in ("local level", "local linear trend"):
    uc = sm.tsa.UnobservedComponents(y, model, use_exact_diffuse=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = uc.fit(disp=False, cov_type="approx")
    for name, estimate, se in zip(uc.param_names, fit.params, np.asarray(fit.bse)):
        rows.append(dict(model=model, parameter=name, estimate=estimate, std_error=se, loglik=fit.llf,
                         tool="statsmodels UnobservedComponents(use_exact_diffuse=True).fit(cov_type='approx')",
                         version=statsmodels.__version__))
out = pd.DataFrame(rows)
out.to_csv(ROOT / "case_studies" / "results" / "statsmodels_nile.csv", index=False, float_format="%.10g")
print(out.to_string())
