"""Pure rules of 360 reviews (no Django): scores, the peers' anonymity threshold, summaries."""
