-- RLS000: the fixed version, no RLS000
SELECT 1;
