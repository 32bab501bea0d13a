"""Reference cohort simulator: clinically plausible multi-site AML and SCD patients.

Real patient data never enters this repository; every test, demo and benchmark uses
these cohorts. Sources for every figure are in docs/simulator_aml.md and
docs/simulator_scd.md. Entry points: :func:`synthema.cohorts.simulate.simulate` and
:func:`synthema.cohorts.simulate.write_cohort`.
"""
