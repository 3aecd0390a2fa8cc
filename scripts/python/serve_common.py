"""Shared by the course-style peers of `taxi-duration serve` (serve_flask.py, serve_fastapi.py).

Loads the coefficients exported from our model file (scripts/bench-serve.ts writes them) into
scikit-learn's own DictVectorizer and LinearRegression, so the peers predict exactly as the
course's pickled (dv, model) would, and builds each ride's features as the course's
prepare_features does (zones as strings; PU_DO joined with '_').
"""
import json
import os

import numpy as np
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LinearRegression


def load(path=None):
    with open(path or os.environ["TAXI_COEFFICIENTS"], encoding="utf-8") as f:
        p = json.load(f)
    dv = DictVectorizer(separator=p["separator"])
    dv.feature_names_ = list(p["featureNames"])
    dv.vocabulary_ = {name: i for i, name in enumerate(dv.feature_names_)}
    model = LinearRegression()
    model.coef_ = np.asarray(p["coef"], dtype=np.float64)
    model.intercept_ = float(p["intercept"])
    model.n_features_in_ = len(dv.feature_names_)
    return dv, model, p["categorical"], p["numerical"], p["version"]


def prepare_features(ride, categorical, numerical):
    features = {}
    for name in categorical:
        if name == "PU_DO":
            features[name] = "%s_%s" % (ride["PULocationID"], ride["DOLocationID"])
        else:
            features[name] = str(ride[name])
    for name in numerical:
        features[name] = ride[name]
    return features
