"""Settings read from the environment (.env.production / .env.staging select the deployment)."""

from pydantic_settings import BaseSettings

# Links from the admin dashboard to each deployment's usage page.
USAGE_PAGE_PROJECTS = {
    "production": "proj_zFCxKvUDbNxKTx84f90avZk0",
    "staging": "proj_wD82SM2YRZbzTChZYR7igslr",
}


class Settings(BaseSettings):
    app_env: str = "development"
    openai_org_id: str
    openai_project_id: str
    openai_model: str = "gpt-4o-mini"
    log_level: str = "info"


settings = Settings()
