#!/usr/bin/env bash
# `make demo`: simulate 3 hospitals per disease with raw exports, harmonise each export
# with its mapping, validate the result and print a cohort summary; then fit a differentially
# private MST synthesizer: AML federated across 3 local Flower SuperNodes (TLS, auth, SecAgg+,
# per-site ledgers), SCD centrally on the pooled files; sample a synthetic cohort as large as
# the real one, validate it and summarise real and synthetic side by side.
set -euo pipefail
OUT=${DEMO_DIR:-demo_output}
PATIENTS=1500
SYNTH_DISEASES=${SYNTH_DISEASES:-aml scd}
# AML is fitted federated (3 local hospitals over Flower); FEDERATED_DISEASE=none fits it centrally
FEDERATED_DISEASE=${FEDERATED_DISEASE:-aml}
FED_PORT=${FED_PORT:-9100}
rm -rf "$OUT"
for disease in aml scd; do
  echo
  echo "== ${disease^^}: simulate 3 hospitals (raw exports with identifiers + mappings)"
  synthema simulate --disease "$disease" --sites 3 --patients "$PATIENTS" --seed 42 --raw --out "$OUT/$disease"
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

FED="$OUT/federation"
trap '[ -f "$FED/federation.json" ] && synthema federate down --workdir "$FED" >/dev/null' EXIT
for disease in $SYNTH_DISEASES; do
  D=${disease^^}
  dir="$OUT/$disease/synthetic"
  mkdir -p "$dir"
  if [ "$disease" = "$FEDERATED_DISEASE" ]; then
    echo
    echo "== $D: start a local federation: 1 Flower SuperLink + 3 SuperNodes (one per hospital),"
    echo "   TLS and SuperNode authentication on; each hospital keeps its own budget ledger (ε = 4)"
    synthema federate up --sites 3 --data "$OUT/$disease/harmonized" --workdir "$FED" --port "$FED_PORT"
    echo
    echo "== $D: federated MST fit at ε = 1: each site adds its share of discrete Gaussian noise,"
    echo "   charges its ledger, and SecAgg+ sums the masked vectors (the server sees only sums)"
    synthema federate fit --workdir "$FED" --dictionary "$disease" --method mst --epsilon 1 \
      --delta 1e-6 --seed 42 --out "$dir/mst_eps1.synth"
    echo
    echo "== $D: hospital 1's privacy officer reads its own ledger"
    synthema budget show --ledger "$FED/ledgers/site_01.sqlite"
    synthema federate down --workdir "$FED"
  else
    echo
    echo "== $D: fit an MST synthesizer at ε = 1 on the 3 harmonised files (pooled at one trusted site)"
    synthema synth fit --dictionary "$disease" --method mst --epsilon 1 --delta 1e-6 --seed 42 \
      "$OUT/$disease"/harmonized/site_*.csv --out "$dir/mst_eps1.synth"
  fi
  echo
  echo "== $D: sample $PATIENTS synthetic patients (as many as the real cohort)"
  synthema synth sample "$dir/mst_eps1.synth" --rows "$PATIENTS" --seed 42 \
    --max-rules-shown 10 --out "$dir/synthetic.csv"
  echo
  echo "== $D: validate the synthetic file against the dictionary"
  synthema validate --dictionary "$disease" "$dir/synthetic.csv"
  # the real cohort in one file (same header in every harmonised file) for a side-by-side summary
  files=("$OUT/$disease"/harmonized/site_*.csv)
  { head -n 1 "${files[0]}"; tail -q -n +2 "${files[@]}"; } > "$dir/real.csv"
  echo
  echo "== $D: real (3 sites pooled) vs synthetic"
  synthema summary --dictionary "$disease" "$dir/real.csv" "$dir/synthetic.csv"
done
if [ -f "$OUT/aml/synthetic/synthetic.csv" ]; then
  echo
  echo "== AML: evaluate the synthetic cohort (holdout: 1500 other patients from the same hospitals)"
  synthema simulate --disease aml --sites 3 --patients "$PATIENTS" --seed 43 --out "$OUT/aml/holdout" >/dev/null
  hold=("$OUT/aml/holdout"/site_*.csv)
  { head -n 1 "${hold[0]}"; tail -q -n +2 "${hold[@]}"; } > "$OUT/aml/holdout.csv"
  synthema evaluate --dictionary aml --real "$OUT/aml/synthetic/real.csv" \
    --holdout "$OUT/aml/holdout.csv" --synthetic "$OUT/aml/synthetic/synthetic.csv" \
    --out "$OUT/aml/report"
fi

echo
echo "== AML: anonymise site 1's raw export (harmonised in memory; policy aml: identifiers removed or pseudonymised, generalisation, k=5, l=2)"
raw_export=$(ls "$OUT/aml/raw/site_01".* | grep -v '\.mapping\.yaml$')
SYNTHEMA_PSEUDONYM_KEY=${SYNTHEMA_PSEUDONYM_KEY:-demo-only-key-do-not-use-in-production} \
  synthema anonymize --policy aml --mapping "$OUT/aml/raw/site_01.mapping.yaml" "$raw_export" \
  --out "$OUT/aml/anonymized/site_01.csv" --report "$OUT/aml/anonymized"

echo
echo "demo outputs in $OUT/"
