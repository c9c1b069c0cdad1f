"""Risk engine against order diversion (飞单): explainable signals, ranked alerts, investigations (issue 7)."""
