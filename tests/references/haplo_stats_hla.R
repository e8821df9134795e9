# Reference values from haplo.stats for the HLA DQB-DRB-B data (data/hla_demo.csv,
# haplo.stats' own `hla.demo`), written to tests/references/haplo_stats_hla.csv.
#
# haplo.em with its default control (n.try = 10 random starts, plus its
# progressive insertion), missing alleles coded 0, run with ten seeds: its
# `lnlike` is the same quantity as HaplotypeEM.loglik_ (no constant terms).
#
# Run from the repository root:  Rscript tests/references/haplo_stats_hla.R
# Needs: apt-get install r-base-core r-cran-haplo.stats
suppressPackageStartupMessages(library(haplo.stats))
d <- read.csv("data/hla_demo.csv")
geno <- d[, c("DQB.a1", "DQB.a2", "DRB.a1", "DRB.a2", "B.a1", "B.a2")]
rows <- lapply(1:10, function(seed) {
  fit <- haplo.em(geno, locus.label = c("DQB", "DRB", "B"), miss.val = 0,
                  control = haplo.em.control(iseed = seed))
  data.frame(seed = seed, lnlike = fit$lnlike)
})
out <- do.call(rbind, rows)
out$tool <- "haplo.stats"
out$version <- as.character(packageVersion("haplo.stats"))
out$r_version <- paste(R.version$major, R.version$minor, sep = ".")
write.csv(out, "tests/references/haplo_stats_hla.csv", row.names = FALSE)
print(out)
