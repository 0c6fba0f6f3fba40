"""Every folder and file the app uses, in one place.

``DEEPRESEARCH_HOME`` puts all of them under one folder (also how tests isolate
themselves); otherwise the platform's conventions apply (via platformdirs).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

APP_NAME = "deepresearch-local"
HOME_ENV = "DEEPRESEARCH_HOME"


@dataclass(frozen=True)
class Paths:
    """Resolved locations. ``models`` holds downloaded weights unless the user picks another folder."""

    config_dir: Path
    data_dir: Path
    cache_dir: Path
    log_dir: Path
    models_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def sessions_db(self) -> Path:
        return self.data_dir / "sessions.sqlite3"

    @property
    def library_db(self) -> Path:
        return self.data_dir / "library.sqlite3"

    @property
    def registry_file(self) -> Path:
        """Weights registered with the app (downloaded or imported in place)."""
        return self.data_dir / "models.json"

    def as_dict(self) -> dict[str, str]:
        out = {k: str(v) for k, v in asdict(self).items()}
        out.update(
            config_file=str(self.config_file),
            sessions_db=str(self.sessions_db),
            library_db=str(self.library_db),
            registry_file=str(self.registry_file),
        )
        return out

    def ensure(self) -> Paths:
        for folder in (self.config_dir, self.data_dir, self.cache_dir, self.log_dir, self.models_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def get_paths() -> Paths:
    """Resolve the paths from the environment (cheap; call it where needed)."""
    home = os.environ.get(HOME_ENV)
    if home:
        root = Path(home).expanduser().resolve()
        return Paths(
            config_dir=root / "config",
            data_dir=root / "data",
            cache_dir=root / "cache",
            log_dir=root / "logs",
            models_dir=root / "models",
        )
    import platformdirs

    dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
    data = Path(dirs.user_data_dir)
    return Paths(
        config_dir=Path(dirs.user_config_dir),
        data_dir=data,
        cache_dir=Path(dirs.user_cache_dir),
        log_dir=Path(dirs.user_log_dir),
        models_dir=data / "models",
    )
