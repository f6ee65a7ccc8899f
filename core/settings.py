"""One settings object, read from environment variables (prefix-free, documented in the README)."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ADMIN_TOKEN = "dev-admin-token"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(default=f"sqlite+aiosqlite:///{Path.cwd() / 'zhongtai.db'}")
    environment: str = "development"  # "production" turns on the secure defaults
    currency: str = "CNY"
    graphiql: bool = True
    admin_token: str = DEFAULT_ADMIN_TOKEN
    sql_echo: bool = False
    db_pool_size: int = 10
    max_page_size: int = 100
    log_level: str = "INFO"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_production(self) -> bool:
        return self.environment == "production"


@lru_cache
def get_settings() -> Settings:
    return Settings()
