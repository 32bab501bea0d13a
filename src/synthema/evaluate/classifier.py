"""The one classifier the evaluation fits (real vs synthetic, TSTR / TRTR), and how it is run.

HistGradientBoosting handles mixed encodings and missing indicators without tuning. It runs
with a single OpenMP thread: on small machines (2 cores, as in CI) libgomp's spinning workers
and OpenBLAS's threads can starve each other and turn a one-second fit into minutes.
"""

from __future__ import annotations

import numpy as np


def fit_predict_proba(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, *,
                      random_state: int) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities of ``x_test`` and the classes, from a fitted gradient-boosting model.

    Early stopping on a 10 % validation split keeps the model from memorising small sets, so
    probabilities stay near the base rate when there is nothing to learn.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    model = HistGradientBoostingClassifier(max_iter=200, early_stopping=True,
                                           random_state=random_state)
    with threadpool_limits(limits=1, user_api="openmp"):
        model.fit(x_train, y_train)
        return model.predict_proba(x_test), model.classes_
