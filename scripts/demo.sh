#!/usr/bin/env bash
# `make demo`: simulate 3 hospitals per disease with raw exports, harmonise each export
# with its mapping, validate the result and print a cohort summary.
set -euo pipefail
OUT=${DEMO_DIR:-demo_output}
rm -rf "$OUT"
for disease in aml scd; do
  echo
  echo "== ${disease^^}: simulate 3 hospitals (raw exports with identifiers + mappings)"
  synthema simulate --disease "$disease" --sites 3 --patients 1500 --seed 42 --raw --out "$OUT/$disease"
  mkdir -p "$OUT/$disease/harmonized"
  for mapping in "$OUT/$disease"/raw/site_*.mapping.yaml; do
    site=$(basename "$mapping" .mapping.yaml)
    export_file=$(ls "$OUT/$disease/raw/$site".* | grep -v '\.mapping\.yaml$')
    echo
    echo "== ${disease^^}: harmonise $(basename "$export_file")"
    synthema harmonize --dictionary "$disease" --mapping "$mapping" "$export_file" \
      --out "$OUT/$disease/harmonized/$site.csv"
  done
  echo
  echo "== ${disease^^}: validate the harmonised files"
  synthema validate --dictionary "$disease" "$OUT/$disease"/harmonized/site_*.csv
  same=yes
  for f in "$OUT/$disease"/site_*.csv; do
    cmp -s "$f" "$OUT/$disease/harmonized/$(basename "$f")" || same=no
  done
  echo "harmonised exports identical to the simulated clean files: $same"
  synthema summary --dictionary "$disease" "$OUT/$disease"/harmonized/site_*.csv
done
echo
echo "demo outputs in $OUT/"
