from ninja import NinjaAPI

api = NinjaAPI(title="Nightshift API", version="1", docs_url="/docs")
