The data path on a simulated company: an HRIS history, a Delta Lake feature store refreshed extract by extract, a point-in-time training set and the online snapshot.

  $ attrition hris simulate --employees 5000 --months 36 --start 2023-01-01 --seed 7 --out scratch/hris
  hris simulate: 36 extracts -> scratch/hris (5,000 employees at the start; the last extract holds 7,883, of whom 2,969 left)
  $ attrition features refresh --store scratch/store --hris scratch/hris/hris_2023-01-31.csv --as-of 2023-01-31
  refresh: hris_2023-01-31.csv as of 2023-01-31: 5,000 of 5,000 employees new or changed -> table version 0 (latest extract 2023-01-31)
  $ for extract in scratch/hris/hris_2023-0[2-9]*.csv scratch/hris/hris_2023-1*.csv scratch/hris/hris_202[45]-*.csv; do
  >   day=${extract##*hris_}; attrition features refresh --store scratch/store --hris "$extract" --as-of "${day%.csv}" | tail -c 60
  > done | tail -n 2
   or changed -> table version 34 (latest extract 2025-11-30)
   or changed -> table version 35 (latest extract 2025-12-31)
  $ attrition features refresh --store scratch/store --hris scratch/hris/hris_2025-12-31.csv --as-of 2025-12-31
  refresh: hris_2025-12-31.csv as of 2025-12-31: already applied, nothing changed (table version 35)
  $ attrition features refresh --store scratch/store --hris scratch/hris/hris_2025-11-30.csv --as-of 2025-11-30
  error: hris_2025-11-30.csv: extract of 2025-11-30 is older than the latest applied extract 2025-12-31; allowed: a later extract, or --backfill to add a missed day to the past
  [2]
  $ attrition features training-set --store scratch/store --as-of 2025-12-31 --horizon 12mo --out scratch/training_set.csv
  training-set: 117,979 rows (17,981 left within 12 months) over 24 snapshots 2023-01-31..2024-12-31 from table version 35 -> scratch/training_set.csv
  $ head -n 3 scratch/training_set.csv
  employee_id,snapshot_date,age,job_role,monthly_income,years_at_company,attrition
  E000001,2023-01-31,57,Engineering,6963.78,8,0
  E000002,2023-01-31,45,HR,5098.79,18,0
  $ attrition features materialize --store scratch/store --as-of 2025-12-31 --out scratch/online.json.gz
  materialize: 4,914 active and 2,969 departed employees as of 2025-12-31 from table version 35 -> scratch/online.json.gz
