"""The EMSYNC HTTP app: one FastAPI app served as a Ray Serve deployment on 127.0.0.1.

Each feature adds its APIRouter in `build_app` with one line. The database session factory is made
on the replica (`__serve_build_asgi_app__`), so nothing unpicklable crosses from the driver.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from ray import serve

from emsync_core.db.engine import open_database
from ray_serve.study_routes import router as study_router
from ray_serve.score_routes import router as score_router  # issue 5


def build_app(db_url: str) -> FastAPI:
    app = FastAPI(title="EMSYNC Archive", docs_url=None, redoc_url=None)
    app.state.sessions = open_database(db_url)
    app.include_router(study_router)
    app.include_router(score_router)  # issue 5

    @app.get("/healthz")
    def healthz() -> dict:
        return {"ok": True}

    return app


@serve.deployment(ray_actor_options={"num_cpus": 0.25}, max_ongoing_requests=64)
@serve.ingress()
class EmsyncApi:
    def __init__(self, db_url: str) -> None:
        self.db_url = db_url

    def __serve_build_asgi_app__(self) -> FastAPI:
        return build_app(self.db_url)


@dataclass(frozen=True)
class Served:
    url: str
    app_name: str


def serve_app(db_url: str, host: str = "127.0.0.1", port: int = 8000, app_name: str = "emsync") -> Served:
    """Start Serve's HTTP proxy on host:port (Ray must be initialised) and deploy the app at /."""
    serve.start(http_options={"host": host, "port": port})
    serve.run(EmsyncApi.bind(db_url), name=app_name, route_prefix="/")
    return Served(url=f"http://{host}:{port}", app_name=app_name)
