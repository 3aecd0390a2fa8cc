"""The course's Flask prediction service (week 4, predict.py), on our model's coefficients.

    TAXI_COEFFICIENTS=coefficients.json gunicorn --bind=127.0.0.1:9696 --chdir scripts/python serve_flask:app

One ride (a JSON object) as in the course; a list of rides is predicted in one call, for the
100-trip batch scenario of scripts/bench-serve.ts.
"""
from flask import Flask, jsonify, request

from serve_common import load, prepare_features

dv, model, categorical, numerical, version = load()
app = Flask("duration-prediction")


@app.route("/predict", methods=["POST"])
def predict_endpoint():
    body = request.get_json()
    if isinstance(body, list):
        X = dv.transform([prepare_features(ride, categorical, numerical) for ride in body])
        return jsonify({"durations": model.predict(X).tolist(), "model_version": version})
    X = dv.transform(prepare_features(body, categorical, numerical))
    return jsonify({"duration": float(model.predict(X)[0]), "model_version": version})
