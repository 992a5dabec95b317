"""The HTTP API: the COS CI XML face and the MPS JSON face, one Lambda behind API Gateway."""
