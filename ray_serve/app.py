"""The two EMSYNC HTTP apps, each a FastAPI app served as a Ray Serve deployment on its own port:

- the study app (`emsync study serve`): the public rating page; a participant's token is the credential;
- the archive API (`emsync api serve`): results and scoring under /api, for holders of an API key.

Both get the same guards (allowed hosts, body limits, generic errors with an id). The database session
factory is made on the replica (`__serve_build_asgi_app__`), so nothing unpicklable crosses from the driver.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fastapi import FastAPI
from ray import serve

from emsync_core.api.policy import ApiSettings
from emsync_core.db.engine import open_database
from ray_serve.http_guards import READ, guard
from ray_serve.study_routes import router as study_router
from ray_serve.score_routes import UPLOAD_PREFIX, router as score_router

Surface = Literal["study", "api"]
PUBLIC = "anyone (no credential)"


def _healthz(app: FastAPI) -> None:
    @app.get("/healthz", openapi_extra={"x-access": PUBLIC})
    def healthz() -> dict:
        return {"ok": True}


def build_study_app(db_url: str, settings: ApiSettings = ApiSettings()) -> FastAPI:
    """The rating page and its JSON API: every route takes a participant token; no OpenAPI page."""
    app = FastAPI(title="EMSYNC study", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sessions = open_database(db_url)
    guard(app, settings)
    app.include_router(study_router)
    _healthz(app)
    return app


def build_api_app(db_url: str, settings: ApiSettings = ApiSettings()) -> FastAPI:
    """The archive API: every route but /healthz needs an API key (scopes read / score)."""
    app = FastAPI(title="EMSYNC archive API", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sessions = open_database(db_url)
    app.state.settings = settings
    guard(app, settings, upload_prefix=UPLOAD_PREFIX)
    app.include_router(score_router)
    _healthz(app)

    @app.get("/api/openapi.json", dependencies=[READ])
    def openapi() -> dict:
        return app.openapi()

    return app


build_app = build_study_app  # the name the study suite builds its in-process app by
BUILDERS = {"study": build_study_app, "api": build_api_app}


@serve.deployment(ray_actor_options={"num_cpus": 0.25}, max_ongoing_requests=64)
@serve.ingress()
class EmsyncApp:
    def __init__(self, db_url: str, surface: Surface, settings: ApiSettings) -> None:
        self.db_url, self.surface, self.settings = db_url, surface, settings

    def __serve_build_asgi_app__(self) -> FastAPI:
        return BUILDERS[self.surface](self.db_url, self.settings)


@dataclass(frozen=True)
class Served:
    url: str
    app_name: str


def serve_app(db_url: str, host: str = "127.0.0.1", port: int = 8000, app_name: str = "emsync",
              surface: Surface = "study", settings: ApiSettings | None = None) -> Served:
    """Start Serve's HTTP proxy on host:port (Ray must be initialised: one surface per Ray instance,
    since Serve has one proxy port) and deploy the surface's app at /."""
    serve.start(http_options={"host": host, "port": port})
    serve.run(EmsyncApp.bind(db_url, surface, settings or ApiSettings.from_env()), name=app_name, route_prefix="/")
    return Served(url=f"http://{host}:{port}", app_name=app_name)


def serve_until_stopped(db_url: str, host: str, port: int, app_name: str, surface: Surface,
                        settings: ApiSettings | None, banner) -> None:
    """Start a local Ray, serve the surface, print `banner(url)`, block until Ctrl-C or SIGTERM, shut down."""
    import signal
    import time

    import ray

    def _stop(_signum, _frame):  # a service manager's SIGTERM shuts Serve and Ray down like Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    ray.init(include_dashboard=False, ignore_reinit_error=True)
    served = serve_app(db_url, host=host, port=port, app_name=app_name, surface=surface, settings=settings)
    banner(served.url)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        serve.shutdown()
        ray.shutdown()
