"""The department model: features, training, routing topics to units."""
