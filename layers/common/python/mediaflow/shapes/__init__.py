"""What a job, workflow run and task look like on each face's wire (COS CI XML elements, MPS JSON): the
faces answer with them and Finish puts them in notifications. May import only models and the basics."""
