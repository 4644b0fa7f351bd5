"""Runtime code of itest: what runs inside the Lambda functions (no CDK, Click or Rich)."""
