"""The one training loop every model and critic uses."""
