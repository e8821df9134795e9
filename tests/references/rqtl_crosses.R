# Reference values from R/qtl for latentlab.qtl's tests.
#
# Run from the repository root:  Rscript tests/references/rqtl_crosses.R
# (R and R/qtl from Debian's packages: apt-get install r-base-core r-cran-qtl;
# written with R 4.2.2 and qtl 1.58). It writes the crosses the tests read
# (data/hyper.csv is the shared copy of R/qtl's `hyper`; fake_f2.csv and
# fake_bc.csv are R/qtl's `fake.f2` and `fake.bc`, written by write.cross)
# and, for each, R/qtl's genotype probabilities (calc.genoprob) and LOD
# profiles (scanone, method "em" and "hk") under tests/references/rqtl/; the
# LOD profile of hyper goes to case_studies/results/rqtl_hyper_scan.csv, where
# the case study blood_pressure_qtl reads it too.
suppressMessages(library(qtl))
out <- "tests/references/rqtl"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
cat("R", R.version$major, ".", R.version$minor, " qtl ", as.character(packageVersion("qtl")), "\n", sep = "",
    file = file.path(out, "VERSION"))

# genotype probabilities, one row per (chromosome, position), one column per
# (individual, genotype); 10 significant digits; the X chromosome of an
# intercross has 2 genotypes (R/qtl's internal g1, g2), the autosomes 3: the
# third block is empty there
write_genoprob <- function(cross, file) {
  rows <- NULL
  n.gen <- max(sapply(cross$geno, function(g) dim(g$prob)[3]))
  for (chr in names(cross$geno)) {
    p <- cross$geno[[chr]]$prob
    map <- attr(p, "map")
    block <- data.frame(chr = chr, pos = as.numeric(map), name = names(map))
    for (g in seq_len(n.gen)) {
      m <- if (g <= dim(p)[3]) signif(p[, , g, drop = TRUE], 10) else matrix(NA, dim(p)[1], dim(p)[2])
      if (is.null(dim(m))) m <- matrix(m, ncol = 1)
      colnames(m) <- NULL
      m <- t(m)
      colnames(m) <- paste0("g", g, "_", seq_len(ncol(m)))
      block <- cbind(block, m)
    }
    rows <- rbind(rows, block)
  }
  write.csv(rows, gzfile(file), row.names = FALSE, quote = FALSE)
}

write_scan <- function(cross, file, pheno.col = 1, addcovar = NULL) {
  em <- scanone(cross, pheno.col = pheno.col, method = "em", addcovar = addcovar)
  hk <- scanone(cross, pheno.col = pheno.col, method = "hk", addcovar = addcovar)
  write.csv(data.frame(chr = em$chr, pos = signif(em$pos, 12), name = rownames(em),
                       lod_em = signif(em[, 3], 10), lod_hk = signif(hk[, 3], 10)),
            file, row.names = FALSE, quote = FALSE)
}

# hyper: backcross, all male; step 1 cM, error probability 0.001 (the issue's setting)
data(hyper)
hyper <- calc.genoprob(hyper, step = 1, error.prob = 0.001)
write_genoprob(hyper, file.path(out, "hyper_genoprob.csv.gz"))
write_scan(hyper, "case_studies/results/rqtl_hyper_scan.csv")

# fake.f2: intercross with an X chromosome, both sexes and both cross directions
data(fake.f2)
write.cross(fake.f2, "csv", filestem = "data/fake_f2")
f2 <- calc.genoprob(fake.f2, step = 2, error.prob = 0.01, map.function = "kosambi")
write_genoprob(f2, file.path(out, "fake_f2_genoprob.csv.gz"))
write_scan(f2, file.path(out, "fake_f2_scan.csv"))
write_scan(f2, file.path(out, "fake_f2_scan_sexcovar.csv"), addcovar = fake.f2$pheno$sex)

# fake.bc: backcross with two additive covariates (sex, age)
data(fake.bc)
write.cross(fake.bc, "csv", filestem = "data/fake_bc")
bc <- calc.genoprob(fake.bc, step = 2.5, error.prob = 0.0001)
write_scan(bc, file.path(out, "fake_bc_scan_covar.csv"), pheno.col = 1,
           addcovar = as.matrix(fake.bc$pheno[, c("sex", "age")]))
