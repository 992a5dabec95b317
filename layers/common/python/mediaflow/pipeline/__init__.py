"""The steps a job runs through, in order: an upload's event (dispatch, upload_events), the queue's claim
(processor), the state machine's Plan, Units and Finish (planner, split, units, speech_jobs, doc_jobs,
finish). May import control, shapes, notify, persistence, the engines and the basics; never a face."""
