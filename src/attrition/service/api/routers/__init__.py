"""One APIRouter per concern: predict, scores, health, admin; app.py lists them once."""
