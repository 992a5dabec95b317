"""Where state lives: the DynamoDB table's records (store), S3 transfers (storage) and the unit specs and
results a stage keeps in S3 (unitstore). May import only models, the engines' parameters and the basics."""
