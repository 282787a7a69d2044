"""The experiments, one module each; ``sims.registry`` names them."""
