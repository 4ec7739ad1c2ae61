# registered tests for this area
