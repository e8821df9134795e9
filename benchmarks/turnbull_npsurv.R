# npsurv's NPMLE (constrained Newton method, Wang 2008) on the data sets of
# benchmarks/turnbull_data.py; log-likelihoods and times written to
# benchmarks/data/turnbull_npsurv.csv for benchmarks/turnbull.py.
#
# npsurv reads a row (L, R] as L < T <= R, R = Inf right-censored, as
# latentlab's Turnbull does by default. Defaults (maxit = 100, tol = 1e-6);
# each fit is timed five times and the median elapsed time is stored.
#
# Run from the repository root:  Rscript benchmarks/turnbull_npsurv.R
# Needs: apt-get install r-base-core r-cran-npsurv
suppressPackageStartupMessages(library(npsurv))
rows <- lapply(c(500, 2000, 10000), function(n) {
  d <- read.csv(sprintf("benchmarks/data/turnbull_n%d.csv", n))
  x <- cbind(d$L, d$R)
  fit <- npsurv(x)
  times <- sapply(1:5, function(k) system.time(npsurv(x))[["elapsed"]])
  data.frame(n = n, loglik = sprintf("%.12f", fit$ll), converged = fit$convergence,
             seconds_median = median(times), seconds_min = min(times))
})
out <- do.call(rbind, rows)
out$tool <- "npsurv"
out$version <- as.character(packageVersion("npsurv"))
out$r_version <- paste(R.version$major, R.version$minor, sep = ".")
write.csv(out, "benchmarks/data/turnbull_npsurv.csv", row.names = FALSE)
print(out)
