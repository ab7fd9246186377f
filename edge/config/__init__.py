"""Site configuration: the YAML keys of domain.md §6, loaded into pydantic models."""

from fieldlab.config.loader import ConfigError, load_site_config, parse_site_config
from fieldlab.config.site import MachineConfig, SiteConfig

__all__ = ["ConfigError", "MachineConfig", "SiteConfig", "load_site_config", "parse_site_config"]
