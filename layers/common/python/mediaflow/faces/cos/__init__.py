"""The COS CI XML face: one router per resource (buckets, jobs, queues, templates, workflows); the XML
shapes it answers with are in `mediaflow.shapes.cos`."""
