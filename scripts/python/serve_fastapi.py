"""The course's prediction service as FastAPI (pydantic validation), on our model's coefficients.

    TAXI_COEFFICIENTS=coefficients.json uvicorn --app-dir scripts/python --port 9696 serve_fastapi:app

A plain `def` endpoint, as the course writes it (FastAPI runs it in its thread pool).
"""
from typing import List, Union

from fastapi import FastAPI
from pydantic import BaseModel

from serve_common import load, prepare_features

dv, model, categorical, numerical, version = load()
app = FastAPI()


class Ride(BaseModel):
    PULocationID: Union[int, str]
    DOLocationID: Union[int, str]
    trip_distance: float


@app.post("/predict")
def predict_endpoint(body: Union[Ride, List[Ride]]):
    if isinstance(body, list):
        X = dv.transform([prepare_features(r.model_dump(), categorical, numerical) for r in body])
        return {"durations": model.predict(X).tolist(), "model_version": version}
    X = dv.transform(prepare_features(body.model_dump(), categorical, numerical))
    return {"duration": float(model.predict(X)[0]), "model_version": version}
