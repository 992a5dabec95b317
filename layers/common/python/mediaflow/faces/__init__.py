"""The HTTP API, one Lambda behind API Gateway: the app, request signing (auth) and routing, then one
package per face: `cos/` (COS CI XML) and `mps/` (MPS JSON). The top layer: may import everything below."""
