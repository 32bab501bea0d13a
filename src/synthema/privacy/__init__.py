"""Differential privacy core: zCDP accounting, discrete Gaussian noise, per-site budget ledger.

This package knows nothing about statistics, data frames or models: it turns budgets into
noise scales, draws exact integer noise, and records every ρ spent. docs/privacy.md explains
the accounting and the ledger's guarantees.
"""

from synthema.privacy.accountant import ZCDPAccountant, exact_rho
from synthema.privacy.analysis import (
    cdp_delta,
    cdp_epsilon,
    cdp_epsilon_simple,
    cdp_rho,
    cdp_rho_simple,
    distributed_dgauss_rho,
    distributed_dgauss_tau,
    gaussian_rho,
    sigma_for_rho,
)
from synthema.privacy.dpsgd import dpsgd_rho, noise_multiplier_for_rho
from synthema.privacy.entropy import OSRandom
from synthema.privacy.ledger import BudgetChange, BudgetLedger, Charge
from synthema.privacy.mechanisms import (
    add_discrete_gaussian,
    discrete_gaussian,
    gaussian,
    rational_sigma2,
)
from synthema.privacy.registry import available_accountants, create_accountant

__all__ = [
    "BudgetChange",
    "BudgetLedger",
    "Charge",
    "OSRandom",
    "ZCDPAccountant",
    "add_discrete_gaussian",
    "available_accountants",
    "cdp_delta",
    "cdp_epsilon",
    "cdp_epsilon_simple",
    "cdp_rho",
    "cdp_rho_simple",
    "create_accountant",
    "discrete_gaussian",
    "distributed_dgauss_rho",
    "dpsgd_rho",
    "distributed_dgauss_tau",
    "exact_rho",
    "gaussian",
    "gaussian_rho",
    "noise_multiplier_for_rho",
    "rational_sigma2",
    "sigma_for_rho",
]
