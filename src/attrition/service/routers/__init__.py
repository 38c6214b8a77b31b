"""One APIRouter per concern: predict, scores, health, admin."""
