"""Training: corpus readers, passage-model fitting, session-estimator fitting, evaluation."""
