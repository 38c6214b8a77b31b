# Verbatim copy of the seed exercise's generator (../shared/seeds/000_*.txt): the specification
# the generate stage must match byte for byte. Do not edit.
import pandas as pd
import numpy as np
import os

def generate_attrition_dataset(version, save_dir='data'):
    np.random.seed(1234 + version)
    n_samples = 800
    
    age = np.random.randint(22, 60, size=n_samples)
    job_roles = ['Sales', 'Engineering', 'HR', 'Marketing', 'Finance']
    job_role = np.random.choice(job_roles, size=n_samples, p=[0.3, 0.35, 0.1, 0.15, 0.1])
    monthly_income = np.random.normal(5000 + version*500, 1500, n_samples).clip(2000, 15000)
    years_at_company = np.random.randint(0, 20, n_samples)
    
    # Attrition probability influenced by low income, short tenure, and certain roles
    attrition_prob = (
        (monthly_income < (4000 + version * 200)).astype(float) * 0.35 +
        (years_at_company < 3).astype(float) * 0.3 +
        ((job_role == 'Sales') | (job_role == 'Marketing')).astype(float) * 0.2
    )
    attrition_prob = np.clip(attrition_prob, 0, 1)
    attrition = np.random.binomial(1, attrition_prob)
    
    df = pd.DataFrame({
        'age': age,
        'job_role': job_role,
        'monthly_income': monthly_income.round(2),
        'years_at_company': years_at_company,
        'attrition': attrition
    })
    
    os.makedirs(save_dir, exist_ok=True)
    file_path = f'{save_dir}/employee_attrition_v{version}.csv'
    df.to_csv(file_path, index=False)
    print(f"Generated employee attrition dataset version {version} saved to {file_path}")
    return file_path
