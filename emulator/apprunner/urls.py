"""What moto reads, through `AppRunnerBackend._url_module`, as it reads a service's urls.py."""

from __future__ import annotations

from emulator.apprunner.responses import AppRunnerResponse

URL_BASE = r"https?://apprunner\.(.+)\.amazonaws\.com"

url_bases = [URL_BASE]
url_paths = {"{0}/$": AppRunnerResponse.dispatch}
