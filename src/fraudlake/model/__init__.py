"""The fraud model: I/O (`io`), training (`training`), evaluation reports (`report`), CLI (`cli`)."""
