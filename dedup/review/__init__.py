"""Staff review: decisions on topics (confirm, split, merge, re-route, undo) and the page that makes them."""
