"""Work orders: dispatching topics to units with working-day deadlines, and following them to their answers."""
