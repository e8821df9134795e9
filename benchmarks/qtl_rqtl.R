# R/qtl's time for the EM genome scan of `hyper` plus 1,000 permutations, for
# benchmarks/qtl.py. Run from the repository root:
#   Rscript benchmarks/qtl_rqtl.R
# (R and R/qtl from Debian's packages: apt-get install r-base-core r-cran-qtl).
# Writes benchmarks/data/rqtl_hyper_times.csv: seconds for calc.genoprob, the
# EM scan and the 1,000 EM permutations (and the same with Haley-Knott), and the
# permutation thresholds R/qtl found (Monte Carlo values: another seed differs).
suppressMessages(library(qtl))
data(hyper)
set.seed(20261203)
t_prob <- system.time(hyper <- calc.genoprob(hyper, step = 1, error.prob = 0.001))[["elapsed"]]
t_em <- system.time(out <- scanone(hyper, method = "em"))[["elapsed"]]
t_perm_em <- system.time(perm_em <- scanone(hyper, method = "em", n.perm = 1000, verbose = FALSE))[["elapsed"]]
t_hk <- system.time(out_hk <- scanone(hyper, method = "hk"))[["elapsed"]]
t_perm_hk <- system.time(perm_hk <- scanone(hyper, method = "hk", n.perm = 1000, verbose = FALSE))[["elapsed"]]
res <- data.frame(
  tool = paste0("R/qtl ", packageVersion("qtl"), " (R ", R.version$major, ".", R.version$minor, ")"),
  genoprob_s = t_prob, scan_em_s = t_em, perm1000_em_s = t_perm_em, scan_hk_s = t_hk, perm1000_hk_s = t_perm_hk,
  threshold_em_90 = as.numeric(quantile(perm_em, 0.90)), threshold_em_95 = as.numeric(quantile(perm_em, 0.95)),
  threshold_em_99 = as.numeric(quantile(perm_em, 0.99)), threshold_hk_95 = as.numeric(quantile(perm_hk, 0.95)),
  row.names = NULL)
dir.create("benchmarks/data", showWarnings = FALSE)
write.csv(res, "benchmarks/data/rqtl_hyper_times.csv", row.names = FALSE)
print(res)
