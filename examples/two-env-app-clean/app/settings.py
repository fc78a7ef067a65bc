"""Settings read from the environment (.env.production / .env.staging select the deployment)."""

from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    app_env: str = "development"
    openai_org_id: str
    openai_project_id: str
    openai_base_url: str = "https://api.openai.com/v1"
    openai_model: str = "gpt-4o-mini"
    max_answer_tokens: int = 400
    safety_id_salt: str
    log_level: str = "info"

    @property
    def usage_page(self) -> str:
        """The admin dashboard's link to this deployment's usage."""
        return f"https://platform.openai.com/usage?project_id={self.openai_project_id}"


settings = Settings()
